"""The app's API routes as served (full path, methods, dependencies), and a path's methods."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route, compile_path


@dataclass(frozen=True)
class RouteInfo:
    """One API route: its full path template, methods and dependency tree."""

    path: str
    methods: frozenset[str]
    dependant: Dependant


def api_routes(routes: list[BaseRoute]) -> Iterator[RouteInfo]:
    # newer FastAPI includes routers lazily: their routes are reached through route contexts
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    served: list[Any] = list(contexts(routes)) if contexts is not None else list(routes)
    for route in served:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield RouteInfo(route.path_format, frozenset(route.methods), route.dependant)


def methods_of_path(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at ``path`` (what a 405's ``Allow`` lists), sorted."""
    methods: set[str] = set()
    for info in api_routes(app.routes):
        regex, _format, _convertors = compile_path(info.path)
        if regex.match(path):
            methods |= info.methods
    # the app's own routes (/openapi.json, /docs) are plain Starlette routes
    for route in app.routes:
        if isinstance(route, APIRoute) or not isinstance(route, Route):
            continue
        if route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)
