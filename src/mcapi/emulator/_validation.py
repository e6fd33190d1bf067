"""What users hand the emulator is checked one way: problems that name their field, one error.

Theory of operation
-------------------
Everything a user gives the emulator (admin API bodies, fault rules, seed files, account policy,
clock changes) is refused with :class:`InvalidInput`, a ``ValueError`` holding one or more
:class:`Problem`\\ s. A problem names the field it is about with the path a user would write to
reach it (``minutes``, ``match.times``, ``accounts[0].users[2].email``; empty for the input as a
whole) and says what is wrong in words. The admin API answers ``400`` with
``{"error": "<every problem, '; '-separated>", "problems": [{"field", "message"}, ...]}``.

Most checks stop at the first problem (a clock change has one meaning or none). A document with
many independent parts, a seed file above all, is checked whole with a :class:`Problems`
collector, so that one run reports every mistake of the file: each part is checked in
``problems.check(...)``, which records what the part's check raises and lets the next part be
checked.

Subclasses say what else the error is, never how it is reported: ``UnknownTarget`` (the user,
account or rule a request names does not exist: 404) and the store's ``SeedError``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

__all__ = [
    "InvalidInput",
    "Problem",
    "Problems",
    "integer",
    "json_object",
    "known_fields",
    "text",
    "within",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: the ``field`` it is about (a path such as
    ``accounts[0].users[2].email``; empty for the input as a whole) and a ``message``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def within(prefix: str, field: str) -> str:
    """``field`` as seen from the input that holds it at ``prefix`` (``match`` + ``times`` is
    ``match.times``; ``accounts[0]`` + ``[1]`` is ``accounts[0][1]``)."""
    if not prefix:
        return field
    if not field:
        return prefix
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


class InvalidInput(ValueError):
    """An input the emulator refuses; ``problems`` names each field that is wrong.

    ``InvalidInput("minutes", "expected a number")`` is one problem; ``InvalidInput(problems)``
    takes several. ``str()`` is every problem, ``"; "``-separated. ``status`` is what the admin
    API answers (400; 404 for :class:`~mcapi.emulator.UnknownTarget`).
    """

    status: int = 400

    def __init__(self, field: str | Iterable[Problem], message: str = "") -> None:
        if isinstance(field, str):
            problems: tuple[Problem, ...] = (Problem(field, message),)
        else:
            problems = tuple(field)
        if not problems:
            raise TypeError("InvalidInput needs at least one problem")
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems

    def within(self, prefix: str) -> InvalidInput:
        """The same error (same class) with every field seen from ``prefix``."""
        moved = copy.copy(self)
        moved.problems = tuple(Problem(within(prefix, p.field), p.message) for p in self.problems)
        moved.args = ("; ".join(map(str, moved.problems)),)
        return moved

    def to_dict(self) -> dict[str, Any]:
        """The admin API's answer: ``{"error", "problems": [{"field", "message"}]}``."""
        return {"error": str(self), "problems": [p.to_dict() for p in self.problems]}


class Problems:
    """Collects the problems of a many-part input, so that one run reports all of them."""

    def __init__(self) -> None:
        self._items: list[Problem] = []

    def add(self, field: str, message: str) -> None:
        self._items.append(Problem(field, message))

    def check(self, part: Callable[[], _T]) -> _T:
        """Run ``part``; its InvalidInput is recorded, not raised.

        Returns what ``part`` returns, or None (typed as its result) when it raised: whoever
        reads that value will call :meth:`raise_if_any` before using it."""
        try:
            return part()
        except InvalidInput as exc:
            self._items.extend(exc.problems)
            return cast(_T, None)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def raise_if_any(self, error: Callable[[list[Problem]], InvalidInput] = InvalidInput) -> None:
        """Raise ``error(problems)`` (InvalidInput by default) when a problem was recorded."""
        if self._items:
            raise error(list(self._items))


# ---- checks shared by the inputs: each names the field it rejects --------------------------------


def json_object(value: object, field: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object (a mapping)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(field, "must be a JSON object")
    return cast(Mapping[str, Any], value)


def known_fields(
    data: Mapping[str, Any], allowed: Sequence[str], where: str = "", *, hint: str | None = None
) -> None:
    """Refuse every key of ``data`` (an object at ``where``) that is not in ``allowed``, all at
    once; ``hint`` replaces "expected one of ..." in the message."""
    unknown = [name for name in data if name not in allowed]
    if unknown:
        expected = f"unknown field ({hint or 'expected one of ' + ', '.join(allowed)})"
        raise InvalidInput(Problem(within(where, str(name)), expected) for name in unknown)


def integer(value: object, field: str, *, low: int, high: int | None = None) -> int:
    """``value`` if it is an integer (not a boolean) from ``low`` to ``high`` (None: no limit)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, f"must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InvalidInput(field, f"must be {bounds}, got {value}")
    return value


def text(value: object, field: str) -> str:
    """``value`` if it is a string with something besides blanks."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"must be a non-empty string, got {value!r}")
    return value
