"""The OpenAPI 3 document of the emulated functions, generated from the function table.

Each function is a ``POST`` whose request body is ``{"data": [<request item>], "meta":
{"pagination": ...}}`` (``meta`` only where the function pages) and whose 200 answer is the
envelope with ``data`` items of the function's response schema. Functions that stream a file
document ``application/octet-stream`` beside the JSON answer they give when there is no file.
Every 4xx/5xx answer is the error envelope. Permission, read-only flag and limits are in the
operation's description and in ``x-mcapi-*`` extensions. API 2.0's REST-style SIEM reads
(``GET /siem/v1/...``) are added by :mod:`._openapi_siem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcapi._constants import TOKEN_PATH
from mcapi.emulator.functions._openapi_siem import siem_rest_paths
from mcapi.emulator.functions._registry import FunctionSpec

__all__ = ["build_openapi"]

_REF = "#/components/schemas/"
_ERROR_STATUSES = {
    "400": "Malformed request or missing x-mc-* headers",
    "401": "Authorization missing or wrong (sub code in the message)",
    "403": "Forbidden: permission, IP range, or message access (sub code in the message)",
    "404": "Not a function",
    "405": "Not POST",
    "409": "The data's state contradicts the request",
    "418": "Binding expired: refresh it",
    "429": "Quota spent; wait X-RateLimit-Reset milliseconds",
    "500": "Internal or external-resource error",
}
_RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("X-RateLimit-Limit", "The caller's quota"),
        ("X-RateLimit-Remaining", "Calls left in the quota"),
        ("X-RateLimit-Reset", "Milliseconds until one call is added back"),
    )
}

_COMPONENTS: dict[str, Any] = {
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message", "retryable"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string", "description": "sub code first, e.g. '0004 ...'"},
            "retryable": {"type": "boolean"},
            "field": {"type": "string"},
        },
    },
    "FailItem": {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "key": {"description": "the submitted item this failure is about"},
            "errors": {"type": "array", "items": {"$ref": _REF + "ErrorDetail"}},
        },
    },
    "Pagination": {
        "type": "object",
        "properties": {
            "pageSize": {"type": "integer", "description": "records in this page"},
            "next": {"type": "string"},
            "previous": {"type": "string"},
            "totalCount": {"type": "integer"},
        },
    },
    "Meta": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "integer"},
            "pagination": {"$ref": _REF + "Pagination"},
            "isLastToken": {"type": "boolean"},
        },
    },
    "ErrorEnvelope": {
        "type": "object",
        "required": ["meta", "data", "fail"],
        "properties": {
            "meta": {"$ref": _REF + "Meta"},
            "data": {"type": "array", "maxItems": 0},
            "fail": {"type": "array", "minItems": 1, "items": {"$ref": _REF + "FailItem"}},
        },
    },
}


def _request_body(spec: FunctionSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"type": "array", "items": dict(spec.request_schema)}
    if spec.max_items is not None:
        data["maxItems"] = spec.max_items
    schema: dict[str, Any] = {"type": "object", "required": ["data"], "properties": {"data": data}}
    if spec.paginated:
        size: dict[str, Any] = {"type": "integer", "minimum": 1}
        if spec.max_page_size is not None:
            size["maximum"] = spec.max_page_size
        schema["properties"]["meta"] = {
            "type": "object",
            "properties": {
                "pagination": {
                    "type": "object",
                    "properties": {"pageSize": size, "pageToken": {"type": "string"}},
                }
            },
        }
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _success(spec: FunctionSpec) -> dict[str, Any]:
    envelope = {
        "type": "object",
        "required": ["meta", "data", "fail"],
        "properties": {
            "meta": {"$ref": _REF + "Meta"},
            "data": {"type": "array", "items": dict(spec.response_schema)},
            "fail": {"type": "array", "items": {"$ref": _REF + "FailItem"}},
        },
    }
    content: dict[str, Any] = {"application/json": {"schema": envelope}}
    headers = dict(_RATE_HEADERS)
    description = "Done; per-item failures are in fail"
    if spec.streams:
        content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
        description = "The file (octet-stream), or the JSON envelope when there is none"
        headers["Content-Disposition"] = {"schema": {"type": "string"}}
        if spec.path.endswith("get-siem-logs"):
            headers["mc-siem-token"] = {
                "description": "The token to send for the next file",
                "schema": {"type": "string"},
            }
        if spec.path.endswith("threat-intel/get-feed"):
            headers["x-mc-threat-feed-next-token"] = {
                "description": "Present when more files follow: the token to send for the next",
                "schema": {"type": "string"},
            }
    return {"description": description, "headers": headers, "content": content}


def _description(spec: FunctionSpec) -> str:
    lines = [
        spec.summary + ".",
        "",
        f"Permission: {spec.permission or 'any authenticated user'}.",
        f"Read-only: {'yes' if spec.read_only else 'no'}.",
    ]
    if spec.max_items is not None:
        lines.append(f"At most {spec.max_items} item(s) per call.")
    if spec.paginated:
        lines.append(f"Paged through meta.pagination (pageSize up to {spec.max_page_size}).")
    return "\n".join(lines)


def _operation(spec: FunctionSpec) -> dict[str, Any]:
    tag = spec.path.split("/")[2]
    responses: dict[str, Any] = {"200": _success(spec)}
    for status, text in _ERROR_STATUSES.items():
        responses[status] = {
            "description": text,
            "headers": dict(_RATE_HEADERS),
            "content": {"application/json": {"schema": {"$ref": _REF + "ErrorEnvelope"}}},
        }
    return {
        "operationId": spec.path.removeprefix("/api/").replace("/", "_").replace("-", "_"),
        "summary": spec.summary,
        "description": _description(spec),
        "tags": [tag],
        "security": [{"MC": []}, {"OAuth2": []}],
        "x-mcapi-permission": spec.permission,
        "x-mcapi-read-only": spec.read_only,
        "requestBody": _request_body(spec),
        "responses": responses,
    }


def build_openapi(functions: Mapping[str, FunctionSpec], *, version: str = "1.0") -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``functions`` (path -> spec)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Mimecast API 1.0 and 2.0 (mcapi emulator)",
            "version": version,
            "description": (
                'Every call is a POST of {"data": [...]} signed with the x-mc-date, '
                "x-mc-req-id, x-mc-app-id and Authorization: MC accessKey:signature headers "
                "(API 1.0), or sent with Authorization: Bearer <token> from POST /oauth/token "
                "(API 2.0)."
            ),
        },
        "paths": {
            **{path: {"post": _operation(spec)} for path, spec in sorted(functions.items())},
            **siem_rest_paths(),
        },
        "components": {
            "schemas": _COMPONENTS,
            "securitySchemes": {
                "MC": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "MC accessKey:base64(HMAC-SHA1(secret, date:reqid:path:appKey))",
                },
                "OAuth2": {
                    "type": "oauth2",
                    "description": "API 2.0: a Bearer token from the client-credentials grant",
                    "flows": {"clientCredentials": {"tokenUrl": TOKEN_PATH, "scopes": {}}},
                },
            },
        },
    }
