"""The OpenAPI operations of API 2.0's REST-style SIEM reads (``GET /siem/v1/...``), beside the
``POST /api/...`` functions of :mod:`._openapi`. They take a Bearer token only; their 429 body is
``{"detail": ...}`` rather than the error envelope."""

from __future__ import annotations

from typing import Any

from mcapi.emulator.functions._siem_rest import (
    BATCH_PAGE,
    BATCH_PATH,
    EVENT_TYPES,
    EVENTS_PAGE,
    EVENTS_PATH,
    PERMISSION,
)

__all__ = ["siem_rest_paths"]

_REF = "#/components/schemas/"
_TYPES = ", ".join(EVENT_TYPES)


def _parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name, "in": "query", "required": False, "description": description,
        "schema": schema,
    }  # fmt: skip


def _parameters(limits: tuple[int, int], dates: str) -> list[dict[str, Any]]:
    size = {"type": "integer", "minimum": 1, "maximum": limits[1], "default": limits[0]}
    text = {"type": "string"}
    return [
        _parameter("type", f"Comma-separated event types ({_TYPES}), each optionally "
                   "type:subtype (process:Hld); every type when absent", text),
        _parameter("types", "The same as type", text),
        _parameter("pageSize", "Items per page", size),
        _parameter("dateRangeStartsAt", dates, text),
        _parameter("dateRangeEndsAt", "The end of the range (excluded), in the same form", text),
        _parameter("nextPage", "The @nextPage of the previous answer (carries the query)", text),
    ]  # fmt: skip


def _answer(value: dict[str, Any], next_required: bool) -> dict[str, Any]:
    required = ["value", "pageSize", "isCaughtUp"] + (["@nextPage"] if next_required else [])
    return {
        "type": "object",
        "required": required,
        "properties": {
            "value": {"type": "array", "items": value},
            "@nextPage": {"type": "string"},
            "pageSize": {"type": "integer"},
            "isCaughtUp": {"type": "boolean"},
        },
    }


_EVENT = {
    "type": "object",
    "required": ["timestamp", "eventType", "accountId", "datetime"],
    "properties": {
        "timestamp": {"type": "integer", "description": "epoch milliseconds"},
        "eventType": {"type": "string", "enum": list(EVENT_TYPES)},
        "subType": {"type": "string"},
        "accountId": {"type": "string"},
        "datetime": {"type": "string"},
    },
}
_FILE = {
    "type": "object",
    "required": ["url", "expiry", "size"],
    "properties": {
        "url": {"type": "string", "description": "GET it without a token: gzipped JSON lines"},
        "expiry": {"type": "string", "description": "when the URL stops working"},
        "size": {"type": "integer", "description": "bytes of the gzip file"},
    },
}


def _operation(
    path: str, summary: str, ok: dict[str, Any], limits: tuple[int, int], dates: str
) -> dict[str, Any]:
    envelope = {"application/json": {"schema": {"$ref": _REF + "ErrorEnvelope"}}}
    detail = {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    }
    return {
        "operationId": path.strip("/").replace("/", "_"),
        "summary": summary,
        "description": f"{summary}.\n\nPermission: {PERMISSION}.\nRead-only: yes.",
        "tags": ["siem"],
        "security": [{"OAuth2": []}],
        "x-mcapi-permission": PERMISSION,
        "x-mcapi-read-only": True,
        "parameters": _parameters(limits, dates),
        "responses": {
            "200": {"description": "A page", "content": {"application/json": {"schema": ok}}},
            "400": {"description": "A query parameter is refused", "content": envelope},
            "401": {"description": "No Bearer token, or it is refused", "content": envelope},
            "403": {"description": "Permission or IP range", "content": envelope},
            "404": {"description": "Not a SIEM path", "content": envelope},
            "405": {"description": "Not GET", "content": envelope},
            "429": {
                "description": "Quota spent",
                "content": {"application/json": {"schema": detail}},
            },
        },
    }


def siem_rest_paths() -> dict[str, Any]:
    """The path items of the two listings."""
    return {
        EVENTS_PATH: {
            "get": _operation(
                EVENTS_PATH, "SIEM events of the last 24 hours, paged by nextPage",
                _answer(_EVENT, False), EVENTS_PAGE,
                "The start of the range: ISO 8601 (2025-12-24T11:23:41.955Z), within the last "
                "24 hours; 24 hours back when absent",
            )
        },
        BATCH_PATH: {
            "get": _operation(
                BATCH_PATH, "Download URLs of gzipped SIEM event files (one per log file)",
                _answer(_FILE, True), BATCH_PAGE,
                "The start of the range: a date (2025-12-24) or ISO 8601; the oldest kept file "
                "when absent",
            )
        },
    }  # fmt: skip
