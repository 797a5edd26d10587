"""Base connections: validate against the spec, keep secrets encrypted, show them masked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.connector_lookup import find_connector, mask_secret
from flowservice.api.runtime import Runtime
from flowservice.api.schemas.connections import ConnectionCreate
from flowservice.api.services.body_checks import connection_spec, patched_connection
from flowservice.api.views import AUDIT_FILTERABLE, named_fields, version_fields
from flowservice.errors import Conflict, FlowServiceError, ValidationFailed
from flowservice.secrets import SecretBox, redact
from flowservice.specs.catalog import AuthSpec, ConnectionSpec
from flowservice.store.connection_auth import auth_params as auth_params
from flowservice.store.connection_auth import secret_params as secret_params
from flowservice.store.repos import connection_tests, resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = "connections"
FILTERABLE = AUDIT_FILTERABLE | frozenset(
    {
        "name",
        "description",
        "state",
        "connectionSpec.id",
        "connectionSpec.version",
        "auth.specName",
    }
)


def _undeclared(auth_spec: AuthSpec, params: Mapping[str, Any]) -> None:
    """Refuse params the auth spec does not declare (unless its schema allows any).

    An undeclared param is not known to be secret: it would be stored and shown as plain text.
    """
    if auth_spec.schema.get("additionalProperties") not in (None, False):
        return
    declared = auth_spec.schema.get("properties") or {}
    unknown = sorted(k for k in params if k not in declared)
    if unknown:
        name = unknown[0] if len(unknown[0]) <= 64 else unknown[0][:64] + "..."
        raise ValidationFailed(
            f"auth.params.{name} is not a parameter of {auth_spec.name!r} "
            f"({', '.join(sorted(declared)) or 'none'})"
        )


def _validated_auth(spec: ConnectionSpec, spec_name: str, params: dict[str, Any]) -> AuthSpec:
    """The auth spec ``params`` satisfy; create and PATCH alike."""
    auth_spec = spec.auth_spec(spec_name)
    auth_spec.validate(params)
    _undeclared(auth_spec, params)
    connector = find_connector(spec.id)
    if connector is not None:
        secrets = [str(params[k]) for k in auth_spec.secret_keys if k in params]
        try:
            connector.validate_auth(spec_name, params)
        except FlowServiceError as exc:
            exc.message = redact(exc.message, secrets)
            exc.args = (exc.message,)
            raise
    return auth_spec


def _split(auth_spec: AuthSpec, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = {k: v for k, v in params.items() if k not in auth_spec.secret_keys}
    secret = {k: v for k, v in params.items() if k in auth_spec.secret_keys}
    return plain, secret


def _seal(box: SecretBox, secret: Mapping[str, Any]) -> str | None:
    return box.encrypt(json.dumps(dict(secret))) if secret else None


def _doc(model: ConnectionCreate, plain: dict[str, Any], key_order: list[str]) -> dict[str, Any]:
    return {
        "description": model.description,
        "connectionSpec": {
            "id": model.connection_spec.id,
            "version": model.connection_spec.version,
        },
        "auth": {"specName": model.auth.spec_name, "params": plain, "order": key_order},
    }


def create_connection(session: Session, runtime: Runtime, scope: Scope, body: Any) -> Resource:
    model = ConnectionCreate.model_validate(body)
    spec = connection_spec(runtime, model.connection_spec.id, model.connection_spec.version)
    auth_spec = _validated_auth(spec, model.auth.spec_name, model.auth.params)
    plain, secret = _split(auth_spec, model.auth.params)
    return resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=model.name,
        state="enabled",
        spec_id=spec.id,
        doc=_doc(model, plain, list(model.auth.params)),
        secret_doc=_seal(runtime.secret_box, secret),
    )


def masked_params(row: Resource, box: SecretBox) -> dict[str, Any]:
    params = auth_params(row, box)
    # the sealed keys are those not stored in plain (``_split``): one decryption per connection
    secret_keys = set(params) - set(row.doc["auth"]["params"])
    spec_id = str(row.spec_id)
    return {
        k: (mask_secret(spec_id, k, str(v)) if k in secret_keys else v) for k, v in params.items()
    }


def to_wire(row: Resource, scope: Scope, box: SecretBox) -> dict[str, Any]:
    doc = row.doc
    item: dict[str, Any] = named_fields(row, scope)
    item["connectionSpec"] = doc["connectionSpec"]
    item["state"] = row.state
    item["auth"] = {"specName": doc["auth"]["specName"], "params": masked_params(row, box)}
    item.update(version_fields(row))
    return item


def patch_connection(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    row: Resource,
    *,
    expected_etag: str,
    operations: Any,
) -> Resource:
    resources.check_etag(row, expected_etag)
    box = runtime.secret_box
    current = auth_params(row, box)
    view: dict[str, Any] = {
        "name": row.name,
        "auth": {"specName": row.doc["auth"]["specName"], "params": current},
        "connectionSpec": row.doc["connectionSpec"],
    }
    if row.doc.get("description") is not None:
        view["description"] = row.doc["description"]
    patched = patched_connection(view, operations, noun="connection")
    model = ConnectionCreate.model_validate(patched)
    params = dict(model.auth.params)
    old_secrets = secret_params(row, box)
    for key, old in old_secrets.items():
        # a client that sends back the masked value it was shown keeps the stored secret
        if key in params and params[key] == mask_secret(str(row.spec_id), key, str(old)):
            params[key] = old
    model.auth.params = params
    spec = connection_spec(runtime, model.connection_spec.id, None)
    auth_spec = _validated_auth(spec, model.auth.spec_name, params)
    plain, secret = _split(auth_spec, params)
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc=_doc(model, plain, list(params)),
        name=model.name,
        state=row.state,
        secret_doc=_seal(box, secret),
    )


# kinds whose rows point at a base connection through ``parent_id``
DEPENDENT_KINDS = ("sourceConnections",)


def delete_connection(session: Session, scope: Scope, row: Resource) -> None:
    """Delete unless source connections (and so their flows) still use it: 1418."""
    for kind in DEPENDENT_KINDS:
        users = resources.list_resources(session, scope=scope, kind=kind, parent_ids=[row.id])
        if users:
            raise Conflict(
                f"The base connection {row.id} is used by {len(users)} {kind}; "
                "delete the dataflows and source connections that use it first.",
                code=1418,
                resource_type=KIND,
                resource_id=row.id,
            )
    connection_tests.forget_test(session, row.id)
    resources.delete_resource(session, row=row)
