"""The HTTP API: FastAPI app, dependencies, error mapping, routes and wire schemas."""
