from __future__ import annotations

from pathlib import Path

import pytest

from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.lake import LakeLocation, XdmField, dataset_fields, dataset_location


def test_name_only_body_has_no_schema() -> None:
    assert dataset_fields({"name": "orders"}) is None
    assert (
        dataset_fields({"name": "o", "schemaRef": {"id": "https://ns/x", "contentType": "c"}})
        is None
    )


def test_field_list_with_catalog_spellings() -> None:
    fields = dataset_fields(
        {
            "fields": [
                {"name": "id", "type": "long", "nullable": False},
                {"name": "price", "type": "number", "precision": 19, "scale": 4},
                {"name": "ratio", "type": "double"},
                {"name": "when", "type": "string", "format": "date-time"},
                {
                    "name": "tz",
                    "type": "object",
                    "subFields": [{"name": "offset", "type": "short"}],
                },
            ]
        }
    )
    assert fields == (
        XdmField("id", "integer", nullable=False),
        XdmField("price", "decimal(19,4)"),
        XdmField("ratio", "number"),
        XdmField("when", "date-time"),
        XdmField("tz", "object", fields=(XdmField("offset", "short"),)),
    )


def test_schema_ref_with_inline_fields() -> None:
    body = {
        "schemaRef": {
            "id": "https://ns/s",
            "contentType": "x",
            "fields": [{"name": "a", "type": "int"}],
        }
    }
    assert dataset_fields(body) == (XdmField("a", "int"),)


def test_observable_json_schema() -> None:
    body = {
        "observableSchema": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "integer"},
                "small": {"type": "integer", "minimum": -32768, "maximum": 32767},
                "tiny": {"type": "integer", "meta:xdmType": "byte"},
                "born": {"type": "string", "format": "date"},
                "name": {"type": "string"},
                "person": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
            },
        }
    }
    assert dataset_fields(body) == (
        XdmField("id", "integer", nullable=False),
        XdmField("small", "short"),
        XdmField("tiny", "byte"),
        XdmField("born", "date"),
        XdmField("name", "string"),
        XdmField("person", "object", fields=(XdmField("ok", "boolean"),)),
    )


@pytest.mark.parametrize(
    "body",
    [
        {"fields": []},
        {"fields": ["id"]},
        {"fields": [{"name": "a", "type": "decimal"}]},
        {"observableSchema": {"properties": {"a": {"format": "date"}}}},
    ],
)
def test_malformed_schemas_are_validation_errors(body: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        dataset_fields(body)


def test_dataset_location_refuses_path_tricks(tmp_path: Path) -> None:
    root = LakeLocation.local(tmp_path)
    loc = dataset_location(
        root, org="4F3BB22C@AdobeOrg", sandbox="prod", dataset_id="6019e0e7c5dcf718"
    )
    assert loc.uri == f"{tmp_path}/4F3BB22C@AdobeOrg/prod/6019e0e7c5dcf718"
    for bad in ("..", "../x", "a/b", "", ".hidden", "a\\b"):
        with pytest.raises(InvalidRequest):
            dataset_location(root, org="o", sandbox="prod", dataset_id=bad)
    s3 = LakeLocation("s3://bucket/lake/", {"AWS_REGION": "eu-west-1"})
    child = dataset_location(s3, org="o", sandbox="dev", dataset_id="d1")
    assert child.uri == "s3://bucket/lake/o/dev/d1"
    assert child.storage_options == {"AWS_REGION": "eu-west-1"}
    assert "eu-west-1" not in repr(child)
