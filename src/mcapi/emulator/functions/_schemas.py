"""Tiny JSON-schema builders for the function table (request and response items).

The schemas feed the OpenAPI document and the schemathesis run; they describe what the handlers
accept and return, so keep them next to the handler that reads or writes the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "BOOL",
    "DATE",
    "EMAIL",
    "INT",
    "STR",
    "array",
    "enum",
    "obj",
]

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
EMAIL: Schema = {"type": "string", "format": "email"}
DATE: Schema = {
    "type": "string",
    "description": "date-time like 2011-12-03T10:15:30+0000",
    "example": "2024-01-01T00:00:00+0000",
}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def obj(properties: Mapping[str, Schema], *required: str) -> Schema:
    """An object schema with the given properties, ``required`` ones listed."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    if required:
        schema["required"] = list(required)
    return schema
