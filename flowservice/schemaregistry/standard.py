"""The standard (global, read-only) XDM classes and field groups this registry knows.

A reasonable core of Adobe's XDM, not all of it:

* classes: XDM Individual Profile, XDM ExperienceEvent and the record class
  (``https://ns.adobe.com/xdm/data/record``);
* field groups: Identity Map, Demographic Details (``profile-person-details``)
  and Personal Contact Details (``profile-personal-details``).
"""

from __future__ import annotations

import copy
from typing import Any

from flowservice.schemaregistry.ids import NS, alt_id_of_uri

PROFILE = f"{NS}xdm/context/profile"
EXPERIENCE_EVENT = f"{NS}xdm/context/experienceevent"
RECORD = f"{NS}xdm/data/record"
TIME_SERIES = f"{NS}xdm/data/time-series"
IDENTITY_MAP = f"{NS}xdm/context/identitymap"
PERSON_DETAILS = f"{NS}xdm/context/profile-person-details"
PERSONAL_DETAILS = f"{NS}xdm/context/profile-personal-details"
GLOBAL_LIB_VERSION = "1.0"


def _s(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "type": "string", "meta:xdmType": "string", **extra}


def _obj(title: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"title": title, "type": "object", "meta:xdmType": "object", "properties": properties}


_ID = _s("Identifier", format="uri-reference", description="A unique identifier for the record.")
_DATE_TIME = {"type": "string", "format": "date-time", "meta:xdmType": "date-time"}
_REPO = {
    "_repo": _obj(
        "Repository metadata",
        {
            "createDate": {"title": "Create date", **_DATE_TIME},
            "modifyDate": {"title": "Modify date", **_DATE_TIME},
        },
    ),
    "createdByBatchID": _s("Created by batch ID", format="uri-reference"),
    "modifiedByBatchID": _s("Modified by batch ID", format="uri-reference"),
    "repositoryCreatedBy": _s("Created by user ID"),
    "repositoryLastModifiedBy": _s("Modified by user ID"),
}
_IDENTITY_MAP = {
    "identityMap": {
        "title": "Identity map",
        "type": "object",
        "meta:xdmType": "map",
        "additionalProperties": {
            "type": "array",
            "items": _obj(
                "Identity",
                {
                    "id": _s("Identifier"),
                    "authenticatedState": _s(
                        "Authenticated state",
                        enum=["ambiguous", "authenticated", "loggedOut"],
                    ),
                    "primary": {"title": "Primary", "type": "boolean", "meta:xdmType": "boolean"},
                },
            ),
        },
    }
}


def _resource(
    uri: str,
    resource_type: str,
    title: str,
    description: str,
    properties: dict[str, Any],
    *,
    extends: list[str],
    required: list[str] | None = None,
    behavior: str | None = None,
    intended: list[str] | None = None,
) -> dict[str, Any]:
    name = uri.rsplit("/", 1)[-1]
    definition: dict[str, Any] = {"properties": properties}
    if required:
        definition["required"] = required
    doc: dict[str, Any] = {
        "$id": uri,
        "meta:altId": alt_id_of_uri(uri),
        "meta:resourceType": resource_type,
        "version": GLOBAL_LIB_VERSION,
        "title": title,
        "type": "object",
        "description": description,
        "definitions": {name: definition},
        "allOf": [{"$ref": f"#/definitions/{name}", "type": "object", "meta:xdmType": "object"}],
        "meta:extensible": resource_type != "classes",
        "meta:abstract": True,
        "meta:extends": extends,
        "meta:xdmType": "object",
        "meta:status": "stable",
        "meta:containerId": "global",
        "$schema": "http://json-schema.org/draft-06/schema#",
    }
    if behavior:
        doc["meta:behaviorType"] = behavior
    if intended:
        doc["meta:intendedToExtend"] = intended
    return doc


CLASSES: dict[str, dict[str, Any]] = {
    RECORD: _resource(
        RECORD,
        "classes",
        "Record Schema",
        "The fields every record-based resource has.",
        {"_id": _ID},
        extends=[],
        behavior="record",
    ),
    PROFILE: _resource(
        PROFILE,
        "classes",
        "XDM Individual Profile",
        "A singular representation of the attributes of a person.",
        {"_id": _ID, "personID": _s("Person ID"), **_REPO},
        extends=[RECORD],
        behavior="record",
    ),
    EXPERIENCE_EVENT: _resource(
        EXPERIENCE_EVENT,
        "classes",
        "XDM ExperienceEvent",
        "A time-series record of an event, such as an interaction with a product.",
        {
            "_id": _ID,
            "timestamp": {"title": "Timestamp", **_DATE_TIME},
            "eventType": _s("Event type"),
            "eventMergeId": _s("Event merge ID"),
            "producedBy": _s("Produced by"),
            **_IDENTITY_MAP,
        },
        extends=[TIME_SERIES],
        required=["_id", "timestamp"],
        behavior="time-series",
    ),
}

FIELD_GROUPS: dict[str, dict[str, Any]] = {
    IDENTITY_MAP: _resource(
        IDENTITY_MAP,
        "mixins",
        "Identity Map",
        "Identities of the subject keyed by namespace.",
        copy.deepcopy(_IDENTITY_MAP),
        extends=[],
        intended=[PROFILE],
    ),
    PERSON_DETAILS: _resource(
        PERSON_DETAILS,
        "mixins",
        "Demographic Details",
        "Name, birth date and gender of a person.",
        {
            "person": _obj(
                "Person",
                {
                    "name": _obj(
                        "Full name",
                        {"firstName": _s("First name"), "lastName": _s("Last name")},
                    ),
                    "birthDate": {
                        "title": "Birth date",
                        "type": "string",
                        "format": "date",
                        "meta:xdmType": "date",
                    },
                    "gender": _s("Gender"),
                },
            )
        },
        extends=[],
        intended=[PROFILE],
    ),
    PERSONAL_DETAILS: _resource(
        PERSONAL_DETAILS,
        "mixins",
        "Personal Contact Details",
        "Email, phone and home address of a person.",
        {
            "personalEmail": _obj("Personal email", {"address": _s("Address")}),
            "mobilePhone": _obj("Mobile phone", {"number": _s("Number")}),
            "homeAddress": _obj(
                "Home address",
                {
                    "street1": _s("Street"),
                    "city": _s("City"),
                    "postalCode": _s("Postal code"),
                    "country": _s("Country"),
                },
            ),
        },
        extends=[],
        intended=[PROFILE],
    ),
}


def global_resource(uri: str) -> dict[str, Any] | None:
    """A copy of a standard class or field group, or None."""
    found = CLASSES.get(uri) or FIELD_GROUPS.get(uri)
    return copy.deepcopy(found) if found is not None else None
