"""Imports point one way: nothing below the API imports it, or the web framework it runs on.

The run engine lives in ``flows`` so a worker process runs it without FastAPI;
one import of ``flowservice.api`` there (even a lazy one inside a function)
would pull the whole HTTP stack into every worker.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flowservice

PACKAGE_ROOT = Path(flowservice.__file__).parent
BELOW_API = ("flows", "lake", "connectors", "store", "mapping")
BELOW_API_MODULES = ("core.py", "settings.py", "errors.py", "secrets.py")
FORBIDDEN = ("flowservice.api", "fastapi", "starlette")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, relative imports resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            # ``from flowservice import api`` imports the module flowservice.api
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def forbidden_imports(source: str, module: str, *, is_package: bool = False) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source, module, is_package=is_package)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    )


def modules_below_api() -> list[Path]:
    paths = [p for pkg in BELOW_API for p in sorted((PACKAGE_ROOT / pkg).rglob("*.py"))]
    return paths + [PACKAGE_ROOT / name for name in BELOW_API_MODULES]


def test_the_walk_covers_the_engine_modules() -> None:
    names = {_module_name(p) for p in modules_below_api()}
    assert {
        "flowservice.core",
        "flowservice.flows.engine",
        "flowservice.flows.process_runner",
        "flowservice.flows.run_context",
        "flowservice.flows.catalog_runs",
        "flowservice.connectors.registry",
        "flowservice.lake.layout",
        "flowservice.store.connection_auth",
    } <= names


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import fastapi", "flowservice.flows.x", ["fastapi"]),
        (
            "from starlette.requests import Request",
            "flowservice.lake.x",
            ["starlette.requests", "starlette.requests.Request"],
        ),
        (
            "def later():\n    from flowservice.api.runtime import Runtime\n",
            "flowservice.flows.x",
            ["flowservice.api.runtime", "flowservice.api.runtime.Runtime"],
        ),
        ("from flowservice import api", "flowservice.store.x", ["flowservice.api"]),
        (
            "from ..api import deps",
            "flowservice.flows.x",
            ["flowservice.api", "flowservice.api.deps"],
        ),
        ("from . import api", "flowservice.flows", []),
        ("import flowservice.apis_of_others", "flowservice.flows.x", []),
    ],
)
def test_the_check_finds_forbidden_imports(source: str, module: str, expected: list[str]) -> None:
    assert forbidden_imports(source, module, is_package=module == "flowservice.flows") == expected


@pytest.mark.parametrize("path", modules_below_api(), ids=_module_name)
def test_no_module_below_the_api_imports_it(path: Path) -> None:
    found = forbidden_imports(
        path.read_text(encoding="utf-8"), _module_name(path), is_package=path.name == "__init__.py"
    )
    assert found == [], f"{path.relative_to(PACKAGE_ROOT.parent)} imports {found}"
