"""The FastAPI application: routers under the documented base paths, errors, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from flowservice import __version__
from flowservice.api.errors import install_error_handlers
from flowservice.api.middleware import RequestContextMiddleware
from flowservice.api.openapi_document import install_openapi_document
from flowservice.api.routes import alerts as alert_routes
from flowservice.api.routes import batches as batch_routes
from flowservice.api.routes import (
    connection_specs,
    connections,
    explore,
    flow_specs,
    flows,
    mapping_sets,
    runs,
    sandboxes,
    source_connections,
    target_connections,
)
from flowservice.api.routes import data_access as data_access_routes
from flowservice.api.routes import datasets as dataset_routes
from flowservice.api.routes import expression_language as el_routes
from flowservice.api.routes import metrics as metrics_routes
from flowservice.api.routes import observability as observability_routes
from flowservice.api.routes import schema_registry as schema_registry_routes
from flowservice.api.runtime import Runtime
from flowservice.console.router import router as console_router
from flowservice.flows.engine import FlowEngine
from flowservice.flows.executors import executor_factory
from flowservice.log_format import configure_logging
from flowservice.settings import (
    API_PREFIX,
    CATALOG_PREFIX,
    CONVERSION_PREFIX,
    SANDBOX_PREFIX,
    Settings,
    get_settings,
)

DESCRIPTION = """A self-hosted implementation of the Flow Service API.

Every call needs `Authorization: Bearer <token>`, `x-api-key` (the token's client id)
and `x-gw-ims-org-id`; resource calls also need `x-sandbox-name`. Get a token with
`flowservice auth token --org ORG`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; opens the metadata DB and applies migrations right away."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    runtime = Runtime.start(settings)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        # the scheduler and the run executor live as long as the server serves
        engine = (
            FlowEngine(runtime, executor=executor_factory(runtime))
            if settings.scheduler_enabled
            else None
        )
        app_.state.flow_engine = engine
        if engine is not None:
            engine.start()
        yield
        if engine is not None:
            engine.stop()
        runtime.close()

    app = FastAPI(
        title="flowservice",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.flow_engine = None
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(connection_specs.router, prefix=API_PREFIX)
    app.include_router(connections.router, prefix=API_PREFIX)
    app.include_router(explore.router, prefix=API_PREFIX)
    app.include_router(source_connections.router, prefix=API_PREFIX)
    app.include_router(target_connections.router, prefix=API_PREFIX)
    app.include_router(flow_specs.router, prefix=API_PREFIX)
    app.include_router(flows.router, prefix=API_PREFIX)
    app.include_router(runs.router, prefix=API_PREFIX)
    app.include_router(alert_routes.router, prefix=API_PREFIX)
    app.include_router(sandboxes.router, prefix=SANDBOX_PREFIX)
    app.include_router(dataset_routes.router, prefix=CATALOG_PREFIX)
    app.include_router(batch_routes.router, prefix=CATALOG_PREFIX)
    app.include_router(mapping_sets.router, prefix=CONVERSION_PREFIX)
    app.include_router(el_routes.router, prefix=CONVERSION_PREFIX)
    app.include_router(schema_registry_routes.router)
    app.include_router(data_access_routes.router)
    app.include_router(observability_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(console_router)

    @app.get("/health", tags=["Service"], summary="Liveness: the process answers")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    install_openapi_document(app, settings)
    return app
