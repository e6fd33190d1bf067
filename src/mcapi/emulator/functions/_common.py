"""What every handler shares: per-item processing and validation of request fields.

Theory of operation
-------------------
"Calling an endpoint with several items is equivalent to calling it with each item
individually." :func:`run_items` does exactly that: each item runs on its own (a handler opens its
own transaction per item), a valid item's records go to ``data``, an invalid one becomes a
``fail`` entry whose ``key`` echoes the submitted item, with the body code and the ``field``.
Items the fault engine marked (``ctx.injected_failures``) fail with the injected errors and do
not run.

Two call-level rules, both the emulator's choice where the platform is undocumented:

* **Too many items**: a call with more items than the function's limit runs none of them; every
  item fails with ``err_validation_too_many_items`` (partial execution of an oversized write
  would be a surprise; the client splits and resends).
* **State conflicts** (domain exists, message already released): when the call names exactly one
  unit, the conflict is the call's answer, HTTP 409 with the function's body code. When it names
  several, the conflicting ones become ``fail`` entries under HTTP 200 with the same body code,
  so that the other units' results are not lost.

Single-item functions (queries, file downloads, get-account) use :func:`run_single`. For both
runners an empty ``data`` (or none: ``{}``) stands for one empty item, so a failure of such a call
has the ``key`` ``{}``. Every ``fail`` entry a function answers carries a ``key``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mcapi._codes import CodeEntry, Provenance, lookup
from mcapi._envelope import ErrorDetail, FailItem, lenient_bool, lenient_int
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionError,
    FunctionResult,
    StreamResult,
)

__all__ = [
    "BLANK",
    "INVALID",
    "INVALID_EMAIL",
    "NOT_FOUND",
    "NULL",
    "OUT_OF_RANGE",
    "TOO_MANY",
    "Item",
    "ItemConflict",
    "ItemRefused",
    "ItemResults",
    "boolean",
    "choice",
    "email",
    "format_time",
    "integer",
    "nested",
    "optional_email",
    "optional_text",
    "parse_time",
    "required_text",
    "run_items",
    "run_single",
    "string_list",
    "too_many",
]

Item = Mapping[str, Any]

BLANK = "err_validation_blank"
NULL = "err_validation_null"
INVALID = "err_validation_invalid_value"
INVALID_EMAIL = "err_validation_invalid_email_address"
OUT_OF_RANGE = "err_validation_out_of_range"
TOO_MANY = "err_validation_too_many_items"
NOT_FOUND = "err_item_not_found"

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_EMAIL = re.compile(r"^[^@\s]{1,64}@(?!-)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+$")


class ItemRefused(Exception):
    """One item cannot be processed: a body code, a message and the field at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def detail(self) -> ErrorDetail:
        return ErrorDetail(code=self.code, message=self.message, retryable=False, field=self.field)


class ItemConflict(ItemRefused):
    """The data's state contradicts the item: 409 alone, a ``fail`` entry among several."""

    @property
    def entry(self) -> CodeEntry:
        """The catalogue's 409 entry of the code; for a code the catalogue lacks, its generic
        409 entry carrying that code (so the answer still names what conflicted)."""
        entry = lookup(409, None, self.code)
        if entry.body_code != self.code:
            entry = replace(entry, body_code=self.code, provenance=Provenance.EMULATOR)
        return entry


class ItemResults:
    """Collects one call's results; :meth:`result` applies the conflict rule."""

    def __init__(self) -> None:
        self.data: list[Any] = []
        self.fail: list[FailItem] = []
        self._conflicts: list[ItemConflict] = []

    def ok(self, *records: Any) -> None:
        self.data.extend(records)

    def failed(self, key: Any, error: ItemRefused) -> None:
        self.fail.append(FailItem(key=key, errors=(error.detail(),)))
        if isinstance(error, ItemConflict):
            self._conflicts.append(error)

    def injected(self, key: Any, errors: Sequence[Any]) -> None:
        self.fail.append(FailItem(key=key, errors=tuple(errors)))

    def result(self, *, units: int) -> FunctionResult:
        """The answer; ``units`` is how many things the call named (items, or ids in them)."""
        if units == 1 and len(self._conflicts) == 1 and len(self.fail) == 1 and not self.data:
            conflict = self._conflicts[0]
            raise FunctionError(conflict.entry, conflict.message)
        return FunctionResult(data=self.data, fail=self.fail)


def too_many(items: Sequence[Item], limit: int) -> FunctionResult:
    """Every item fails: the call carries more than ``limit``."""
    error = ItemRefused(
        TOO_MANY, f"at most {limit} item(s) per call; this call has {len(items)}", "data"
    )
    return FunctionResult(
        fail=[FailItem(key=dict(item), errors=(error.detail(),)) for item in items]
    )


def over_limit(ctx: FunctionContext, items: Sequence[Item]) -> FunctionResult | None:
    """Every item failed when the call carries more than the function's spec allows, else None."""
    limit = ctx.spec.max_items
    if limit is not None and len(items) > limit:
        return too_many(items, limit)
    return None


def run_items(ctx: FunctionContext, handle: Callable[[Item], Iterable[Any]]) -> FunctionResult:
    """Run ``handle`` once per item; it returns the item's records or raises :class:`ItemRefused`.

    More items than the spec's ``max_items`` fail together. A call without items (``{}``,
    ``data`` null or ``[]``) runs one empty item, as :func:`run_single` does: a function whose
    fields are all optional answers with its data, one with a required field answers a ``fail``
    entry naming it (key ``{}``, HTTP 200)."""
    items: Sequence[Item] = ctx.request.data or ({},)
    refused = over_limit(ctx, items)
    if refused is not None:
        return refused
    out = ItemResults()
    for index, item in enumerate(items):
        injected = ctx.injected_failures.get(index)
        if injected:
            out.injected(dict(item), injected)
            continue
        try:
            out.ok(*handle(item))
        except ItemRefused as exc:
            out.failed(dict(item), exc)
    return out.result(units=len(items))


def run_single(
    ctx: FunctionContext, handle: Callable[[Item], FunctionResult | StreamResult]
) -> FunctionResult | StreamResult:
    """Run a function that takes one item (or none: ``data: []`` means one empty item, and a
    failure's ``key`` is then ``{}``: every ``fail`` entry carries the item it answers).

    The function's spec must say ``max_items=1``; a call with more items fails as a whole."""
    if ctx.spec.max_items != 1:
        raise ValueError(f"{ctx.spec.path}: a single-item function needs max_items=1 in its spec")
    items = ctx.request.data
    refused = over_limit(ctx, items)
    if refused is not None:
        return refused
    item: Item = items[0] if items else {}
    key = dict(item)
    injected = ctx.injected_failures.get(0)
    if injected:
        return FunctionResult(fail=[FailItem(key=key, errors=tuple(injected))])
    try:
        return handle(item)
    except ItemRefused as exc:
        return FunctionResult(fail=[FailItem(key=key, errors=(exc.detail(),))])


# -- field validation -------------------------------------------------------------------------


@contextlib.contextmanager
def nested(prefix: str) -> Iterator[None]:
    """Name the fields of a nested object by their path in errors (``searchBy.fieldName``)."""
    try:
        yield
    except ItemRefused as exc:
        if exc.field is None or exc.field == prefix.split("[")[0]:
            raise
        raise ItemRefused(exc.code, exc.message, f"{prefix}.{exc.field}") from None


def _present(item: Item, field: str) -> Any:
    if field not in item:
        raise ItemRefused(BLANK, f"{field} is required", field)
    value = item[field]
    if value is None:
        raise ItemRefused(NULL, f"{field} must not be null", field)
    if isinstance(value, str) and not value.strip():
        raise ItemRefused(BLANK, f"{field} must not be blank", field)
    return value


def required_text(item: Item, field: str, *, max_length: int = 500) -> str:
    """A non-blank string field."""
    value = _present(item, field)
    if not isinstance(value, str):
        raise ItemRefused(INVALID, f"{field} must be a string", field)
    if len(value) > max_length:
        raise ItemRefused(OUT_OF_RANGE, f"{field} is longer than {max_length} characters", field)
    return value.strip()


def optional_text(item: Item, field: str, *, default: str = "", max_length: int = 500) -> str:
    """A string field that may be absent, null or blank (then ``default``)."""
    value = item.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return required_text(item, field, max_length=max_length)


def email(item: Item, field: str) -> str:
    """A required e-mail address, lower-cased."""
    value = _present(item, field)
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise ItemRefused(INVALID_EMAIL, "Email address is not valid", field)
    return value.strip().lower()


def optional_email(item: Item, field: str) -> str | None:
    """An e-mail address that may be absent (``None``)."""
    if item.get(field) is None or item.get(field) == "":
        return None
    return email(item, field)


def choice(item: Item, field: str, options: Sequence[str], *, default: str | None = None) -> str:
    """One of ``options`` (compared case-insensitively, returned as spelled in ``options``)."""
    value = item.get(field)
    if value is None and default is not None:
        return default
    value = _present(item, field)
    if isinstance(value, str):
        for option in options:
            if option.lower() == value.strip().lower():
                return option
    raise ItemRefused(INVALID, f"{field} must be one of {', '.join(options)}", field)


def boolean(item: Item, field: str, *, default: bool = False) -> bool:
    """A boolean field; the strings ``"true"``/``"false"`` (any case) count as booleans, as
    integrations send them (the emulator's choice, docs/functions.md "Lenient input")."""
    value = item.get(field)
    if value is None:
        return default
    parsed = lenient_bool(value)
    if parsed is None:
        raise ItemRefused(INVALID, f"{field} must be true or false", field)
    return parsed


def integer(
    item: Item, field: str, *, default: int, minimum: int | None = None,
    maximum: int | None = None,
) -> int:  # fmt: skip
    """A whole-number field that may be absent (then ``default``); a string of digits (``"100"``)
    counts as the number, as for booleans."""
    value = item.get(field)
    if value is None:
        return default
    parsed = lenient_int(value)
    if parsed is None:
        raise ItemRefused(INVALID, f"{field} must be a whole number", field)
    if (minimum is not None and parsed < minimum) or (maximum is not None and parsed > maximum):
        low = "" if minimum is None else f" at least {minimum}"
        high = "" if maximum is None else f" at most {maximum}"
        joined = " and".join(part for part in (low, high) if part)
        raise ItemRefused(OUT_OF_RANGE, f"{field} must be{joined}", field)
    return parsed


def string_list(item: Item, field: str, *, required: bool = False, limit: int = 100) -> list[str]:
    """A list of non-blank strings (at most ``limit``)."""
    if not required and item.get(field) is None:
        return []
    value = _present(item, field)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ItemRefused(INVALID, f"{field} must be a list of non-blank strings", field)
    if required and not value:
        raise ItemRefused(BLANK, f"{field} must not be empty", field)
    if len(value) > limit:
        raise ItemRefused(TOO_MANY, f"{field} takes at most {limit} entries", field)
    return [v.strip() for v in value]


def parse_time(item: Item, field: str, *, default: float | None = None) -> float:
    """A date-time like ``2011-12-03T10:15:30+0000`` as epoch seconds."""
    if item.get(field) is None and default is not None:
        return default
    value = _present(item, field)
    if isinstance(value, str):
        text = value.strip()
        for pattern in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S.%f%z"):
            try:
                return datetime.strptime(text, pattern).timestamp()
            except (ValueError, OverflowError):
                continue
    raise ItemRefused(INVALID, f"{field} must be a date-time like 2011-12-03T10:15:30+0000", field)


def format_time(epoch: float) -> str:
    """Epoch seconds as the platform writes times: ``2011-12-03T10:15:30+0000``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
