"""Wire models shared by every resource kind."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    """Strict input: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SpecRef(WireModel):
    id: str = Field(min_length=1, max_length=64)
    version: str = "1.0"


class CreatedOut(BaseModel):
    id: str
    etag: str = Field(description='The new version, a string with literal quotes: "\\"...\\""')


class ItemsOut(BaseModel):
    items: list[dict[str, Any]]


class PageOut(BaseModel):
    items: list[dict[str, Any]] | None = None
    links: dict[str, Any] | None = Field(default=None, alias="_links")
    count: int | None = None


class JsonPatchOp(BaseModel):
    op: str = Field(description="add, replace or remove")
    path: str
    value: Any = None
