"""Keyset pagination: ``meta.pagination`` in (``pageSize``, ``pageToken``), out (``pageSize``,
``next``, ``previous``).

Theory of operation
-------------------
A page token names a row, not an offset: it carries the sort key of the last row of the page
(``next``) or the first (``previous``), and the next page is "the rows after that key in sort
order". Rows appended while a client pages (new audit events, new clicks) therefore never shift
a page: with newest-first lists they land before the first page, with oldest-first lists after
the last, and a page boundary stays where it was. Every sort key ends with a unique column
(``seq``), so there are no ties.

A walk through the pages also keeps its window. Functions whose defaults are relative to now
(get-logs: the last 24 hours; message-finder: the last 30 days; the hold list: up to now) take
"now" from :func:`walk_now`: the clock on the first page, and on every later page the instant the
token carries (the first page's). Otherwise a clock that moves while a client pages would slide
the window, and rows at its old edge, which existed when the walk started, would never be listed.

A token is ``base64url(checksum + JSON[scope, direction, key, anchor])``. ``scope`` names the
function and its sort order (a token of get-audit-events is refused by get-logs, an
``oldestFirst`` token by a newest-first call); ``anchor`` is the walk's instant (or null); the
checksum catches a token that was cut or edited. A refused token is a per-item ``fail`` with
``err_validation_invalid_value`` on the field ``pageToken``.

The response ``pageSize`` is the number of records returned (what clients read it as); ``next``
is present only when more rows follow, ``previous`` only when rows precede.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from mcapi._envelope import PageRequest, Pagination
from mcapi.emulator.functions._common import (
    INVALID,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    boolean,
    parse_time,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "LogWindow",
    "Page",
    "decode_token",
    "encode_token",
    "log_window",
    "page",
    "walk_now",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
_NEXT, _PREVIOUS = "n", "p"


def _checksum(body: bytes) -> bytes:
    return hashlib.sha256(b"mcapi-page:" + body).digest()[:6]


def encode_token(
    scope: str, direction: str, key: Sequence[Any], anchor: float | None = None
) -> str:
    """A page token for the row with sort key ``key`` (of a walk that started at ``anchor``)."""
    body = json.dumps([scope, direction, list(key), anchor], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_checksum(body) + body).decode().rstrip("=")


def _decode(token: str, scope: str) -> tuple[str, list[Any], float | None]:
    bad = ItemRefused(INVALID, "pageToken is not a token this function issued", "pageToken")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        check, body = raw[:6], raw[6:]
        if check != _checksum(body):
            raise bad
        found_scope, direction, key, *rest = json.loads(body)
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if found_scope != scope or direction not in (_NEXT, _PREVIOUS) or not isinstance(key, list):
        raise bad
    anchor = rest[0] if rest else None
    if len(rest) > 1 or not (anchor is None or _finite(anchor)):
        raise bad
    return direction, key, None if anchor is None else float(anchor)


def decode_token(token: str, scope: str) -> tuple[str, list[Any]]:
    """``(direction, key)`` of a token issued for ``scope``; ItemRefused otherwise."""
    direction, key, _ = _decode(token, scope)
    return direction, key


def walk_now(request: PageRequest | None, scope: str, now: float) -> float:
    """The instant of the walk a request continues: ``now`` on a first page, the instant carried
    by the token on the next ones (ItemRefused for a token ``scope`` did not issue)."""
    token = request.page_token if request else None
    if not token:
        return now
    anchor = _decode(token, scope)[2]
    return now if anchor is None else anchor


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows and the ``meta.pagination`` that goes with it."""

    rows: list[Row[Any]]
    pagination: Pagination


@dataclass(frozen=True, slots=True)
class LogWindow:
    """The time window of one get-logs item and the walk it belongs to."""

    start: float
    end: float
    #: The instant of the walk's first page (defaults are reckoned from it).
    now: float
    oldest_first: bool
    #: The token scope: the function's name and the walk's direction.
    scope: str


def log_window(request: PageRequest | None, item: Item, name: str, now: float) -> LogWindow:
    """The window of a get-logs item (URL, attachment, impersonation logs): ``oldestFirst``
    chooses the walk and its token scope, ``to`` defaults to the walk's instant and ``from`` to
    24 hours before ``to``; ``to`` before ``from`` fails on ``to``."""
    oldest_first = boolean(item, "oldestFirst")
    scope = f"{name}:" + ("oldest" if oldest_first else "newest")
    now = walk_now(request, scope, now)
    end = parse_time(item, "to", default=now)
    start = parse_time(item, "from", default=end - 86400)
    if end < start:
        raise ItemRefused(OUT_OF_RANGE, "to is before from", "to")
    return LogWindow(start, end, now, oldest_first, scope)


def page(
    conn: Connection,
    stmt: sa.Select[Any],
    keys: Sequence[sa.ColumnElement[Any]],
    *,
    request: PageRequest | None,
    scope: str,
    descending: bool,
    total: bool = False,
    default_size: int = DEFAULT_PAGE_SIZE,
    anchor: float | None = None,
) -> Page:
    """One page of ``stmt`` (already filtered) sorted by ``keys``; ``keys`` must be selected.
    ``anchor`` (from :func:`walk_now`) is carried by the tokens of the page."""
    size = (request.page_size if request else None) or default_size
    token = request.page_token if request else None
    direction, key = decode_token(token, scope) if token else (_NEXT, None)
    backwards = direction == _PREVIOUS
    # Walking backwards through a descending list is walking forwards through an ascending one.
    ascending = descending == backwards
    query = stmt
    if key is not None:
        if len(key) != len(keys) or not all(map(_fits, key, keys)):
            raise ItemRefused(INVALID, "pageToken is not a token this function issued", "pageToken")
        row_key, bound = sa.tuple_(*keys), sa.tuple_(*[sa.literal(v) for v in key])
        query = query.where(row_key > bound if ascending else row_key < bound)
    order = [k.asc() if ascending else k.desc() for k in keys]
    rows = list(conn.execute(query.order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        has_next, has_previous = key is not None, more
    else:
        has_next, has_previous = more, key is not None
    pagination = Pagination(
        page_size=len(rows),
        next=(
            encode_token(scope, _NEXT, _key(rows[-1], keys), anchor) if rows and has_next else None
        ),
        previous=(
            encode_token(scope, _PREVIOUS, _key(rows[0], keys), anchor)
            if rows and has_previous
            else None
        ),
        total_count=_count(conn, stmt) if total else None,
    )
    return Page(rows=rows, pagination=pagination)


def _finite(value: Any) -> bool:
    """A JSON number (not a bool) that a SQL integer or float column can hold."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, float) and math.isfinite(value)


def _fits(value: Any, column: sa.ColumnElement[Any]) -> bool:
    """Whether a key value from a token can be compared with ``column`` on every engine."""
    if column.type.python_type in (int, float):
        return _finite(value)
    return isinstance(value, str)


def _key(row: Row[Any], keys: Sequence[sa.ColumnElement[Any]]) -> list[Any]:
    return [row._mapping[k] for k in keys]


def _count(conn: Connection, stmt: sa.Select[Any]) -> int:
    counted = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    return int(conn.execute(counted).scalar_one())
