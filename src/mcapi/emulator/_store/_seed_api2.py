"""The seed file's ``api2_applications`` list: API 2.0 applications of an account.

Each item is a table ``{name, role?, permissions?, products?, client_id?, client_secret?}``
(docs/seed-file.md). A client secret left out is generated and reported in the seed's summary, as
passwords are; either way only its hash is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from mcapi.emulator._store._api2 import (
    Api2Application,
    checked_products,
    checked_secret,
    insert_api2_application,
    role_permissions,
)
from mcapi.emulator._store._errors import SeedError, StoreError

__all__ = ["API2_KEY", "Api2Plan", "api2_plan", "insert_api2_plan"]

#: The account table's key holding the list.
API2_KEY = "api2_applications"
_KEYS = {"name", "role", "permissions", "products", "client_id", "client_secret"}


@dataclass(frozen=True, slots=True)
class Api2Plan:
    path: str
    name: str
    role: str
    permissions: tuple[str, ...] | None
    products: tuple[str, ...]
    client_id: str | None
    client_secret: str | None = field(repr=False)


def _fail(path: str, message: str) -> SeedError:
    return SeedError(path, message)


def _optional_text(item: Mapping[str, Any], key: str, path: str) -> str | None:
    value = item.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _fail(f"{path}.{key}", "expected a non-empty string")
    return value


def api2_plan(item: Any, path: str, seen: dict[str, str]) -> Api2Plan:
    """One validated item; ``seen`` maps client ids already used in the document to their path."""
    if not isinstance(item, Mapping):
        raise _fail(path, "expected a table")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise _fail(
            path, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})"
        )
    name = _optional_text(item, "name", path)
    if name is None:
        raise _fail(f"{path}.name", "required")
    role = _optional_text(item, "role", path) or "Full Administrator"
    permissions = item.get("permissions")
    if permissions is not None and not isinstance(permissions, list):
        raise _fail(f"{path}.permissions", "expected a list of strings")
    products = item.get("products")
    if products is not None and not isinstance(products, list):
        raise _fail(f"{path}.products", "expected a list of strings")
    try:
        role_permissions(role, permissions)
    except ValueError as exc:
        raise _fail(f"{path}.role", str(exc)) from None
    try:
        chosen = checked_products(products)
    except ValueError as exc:
        raise _fail(f"{path}.products", str(exc)) from None
    client_id = _optional_text(item, "client_id", path)
    if client_id is not None:
        if not 8 <= len(client_id) <= 64:
            raise _fail(f"{path}.client_id", "8-64 characters")
        if client_id in seen:
            raise _fail(f"{path}.client_id", f"client id {client_id!r} also at {seen[client_id]}")
        seen[client_id] = f"{path}.client_id"
    secret = _optional_text(item, "client_secret", path)
    if secret is not None:
        try:
            checked_secret(secret)
        except ValueError as exc:
            raise _fail(f"{path}.client_secret", str(exc)) from None
    return Api2Plan(
        path=path, name=name, role=role,
        permissions=None if permissions is None else tuple(permissions), products=chosen,
        client_id=client_id, client_secret=secret,
    )  # fmt: skip


def insert_api2_plan(
    conn: Connection, account_id: int, plan: Api2Plan, secret_hash: str, now: float
) -> Api2Application:
    """Insert one planned application (its secret hashed beforehand)."""
    try:
        return insert_api2_application(
            conn, account_id, plan.name, secret_hash=secret_hash, role=plan.role,
            permissions=plan.permissions, products=plan.products, client_id=plan.client_id,
            now=now,
        )  # fmt: skip
    except (ValueError, StoreError) as exc:
        raise _fail(plan.path, str(exc)) from None
