"""Scripted faults: "fail twice, then succeed", "10% of calls get 500 0006", "reset the 3rd call".

Theory of operation
-------------------
A ``FaultEngine`` holds ordered ``FaultRule``s. Each rule matches a function path (exact or an
fnmatch glob such as ``/api/audit/*``) and optionally one user (email, compared case-blind), and
counts the calls it matches, 1-based. Of those calls it applies to a *window*:

* ``call_number`` N starts the window at the Nth matching call (default: the first);
* ``times`` T makes the window T calls long (default: 1 when ``call_number`` is given, else
  unbounded). So ``times: 2`` is "fail twice, then succeed", ``call_number: 3`` is "only the 3rd
  call", and both together are "calls N to N+T-1";
* ``probability`` p thins the window: each call in it fires with chance p; with a ``seed``, the
  draw of the Nth matching call depends on the seed and N only, so a seeded run repeats exactly
  (and the processes of a shared deployment draw as one).

For every call, every rule that matches path and user counts it (and draws, if in its window),
whether or not an earlier rule fired; then the first rule that fires wins. A rule's numbering
therefore never depends on the other rules.

A rule is consulted at one step of the request pipeline, its ``at``: ``"fault"`` (the default,
after every other check) or ``"quota"``, the rate-limit step, before the token bucket. A quota
rule (``FaultRule.forced_quota``) is the deterministic quota: its call answers 429 0008 exactly as
a spent quota does (``X-RateLimit-Limit`` the account's, ``Remaining`` 0, ``Reset`` the rule's
``reset_ms``), takes no token, and only counts calls that reached the rate-limit step. One engine
holds both kinds, so the admin listing, ``clear`` and ``reset`` cover every way to force a 429.

A ``FaultEffect`` is one of: an error answer from the catalogue (``status`` with optional
``sub_code``, ``body_code``, ``retryable``, and ``reset_ms`` for 429), a 5xx answer without the
envelope (``status`` with ``body``: a gateway's HTML page or JSON cut short; 502, 503 and 504,
which only a gateway sends, are accepted outside the catalogue and always have one), a transport
fault (``transport``), or per-item failures inside a 200 (``item_failures``: the function still
runs for the other items). ``latency_ms`` adds a delay and ``dribble_bps`` sends the body slowly;
either may stand alone (a slow but correct answer) or come with the others (``dribble_bps`` not
with a transport fault). ``after_execution`` runs the function before a transport fault or a
status answer: the write is made, the client cannot know.

The engines that hold the rules are in ``_fault_engine``; the transport faults and the status
answers without the envelope are put on the wire by ``_fault_transport``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mcapi.emulator._validation import (
    InvalidInput,
    integer,
    json_object,
    known_fields,
    text,
    within,
)

TransportKind = Literal["reset", "empty", "truncated"]
TRANSPORT_KINDS: tuple[TransportKind, ...] = ("reset", "empty", "truncated")
#: A status answer's body other than the envelope (see ``fault_body``).
BodyKind = Literal["html", "malformed"]
BODY_KINDS: tuple[BodyKind, ...] = ("html", "malformed")
#: Statuses a proxy or gateway in front of the platform answers: accepted although the catalogue
#: has no entry for them (the platform itself never sends them), always with a ``body`` other
#: than the envelope (``html`` unless the rule says ``malformed``).
GATEWAY_STATUSES = (502, 503, 504)
#: The pipeline step a rule is consulted at (see the module doc).
Step = Literal["fault", "quota"]
STEPS: tuple[Step, ...] = ("fault", "quota")

_MATCH_FIELDS = ("path", "user", "call_number", "times", "probability", "seed")
_ANSWER_FIELDS = ("status", "sub_code", "body_code", "retryable", "reset_ms", "latency_ms")
_EFFECT_FIELDS = (
    *_ANSWER_FIELDS, "body", "dribble_bps", "transport", "after_execution", "item_failures",
)  # fmt: skip
_ITEM_FIELDS = ("index", "code", "message", "field")


# ---- validation (the helpers are mcapi.emulator._validation's) ---------------------------------


def _in_catalogue(status: int, sub_code: str | None, body_code: str | None) -> None:
    """A fault answers with a catalogue code, as the platform would; anything else is refused
    rather than quietly answered with a neighbouring code."""
    from mcapi._codes import Provenance, lookup

    try:
        entry = lookup(status, sub_code, body_code)
    except ValueError:
        entry = None
    if status in GATEWAY_STATUSES and sub_code is None and body_code is None:
        return  # a gateway's answer (see GATEWAY_STATUSES)
    if (
        entry is None
        or entry.provenance is Provenance.GENERIC
        or entry.status != status
        or (sub_code is not None and entry.sub_code != sub_code)
        or (body_code is not None and entry.body_code != body_code)
    ):
        code = " ".join(str(p) for p in (status, sub_code, body_code) if p is not None)
        listed = "`mcapi codes` lists every code; 502, 503 and 504 are accepted without codes"
        raise InvalidInput("status", f"{code} is not in the catalogue ({listed})")


def _quota_effect(effect: FaultEffect) -> None:
    """A rule at the rate-limit step answers as a spent quota does, and nothing else."""
    if effect.status != 429 or effect.sub_code not in (None, "0008"):
        raise InvalidInput("effect.status", 'a rule at "quota" answers 429 0008')
    if effect.reset_ms is None:
        raise InvalidInput("effect.reset_ms", 'required for a rule at "quota" (X-RateLimit-Reset)')
    for name in ("body_code", "retryable"):
        if getattr(effect, name) is not None:
            raise InvalidInput(f"effect.{name}", 'not allowed for a rule at "quota"')
    for name in ("latency_ms", "dribble_bps", "body", "after_execution"):
        if getattr(effect, name):
            raise InvalidInput(f"effect.{name}", 'not allowed for a rule at "quota"')


# ---- data model ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InjectedFailure:
    """A failure injected into ``fail`` for one item (``index``) or every item (``index`` None).

    ``message`` None means the catalogue's text for ``code``.
    """

    code: str
    index: int | None = None
    message: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        text(self.code, "code")
        if self.index is not None:
            integer(self.index, "index", low=0)
        if self.message is not None and not isinstance(self.message, str):
            raise InvalidInput("message", f"must be a string or null, got {self.message!r}")
        if self.field is not None:
            text(self.field, "field")

    @classmethod
    def from_dict(cls, data: object, where: str = "") -> InjectedFailure:
        item = json_object(data, where or "item failure")
        known_fields(item, _ITEM_FIELDS, where)
        if "code" not in item:
            raise InvalidInput(within(where, "code"), "required")
        try:
            return cls(item["code"], item.get("index"), item.get("message"), item.get("field"))
        except InvalidInput as exc:
            raise exc.within(where) from None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _ITEM_FIELDS}


@dataclass(frozen=True, slots=True)
class FaultEffect:
    """What a matching call gets instead of (or on top of) its normal answer."""

    status: int | None = None
    sub_code: str | None = None
    body_code: str | None = None
    retryable: bool | None = None
    reset_ms: int | None = None
    latency_ms: int = 0
    #: With a 5xx ``status``: answer a proxy's ``text/html`` page (``"html"``) or JSON cut short
    #: (``"malformed"``) instead of the envelope; 502, 503 and 504 default to ``"html"``.
    body: BodyKind | None = None
    #: Send the answer's body at this many bytes per second (alone, or with any other form).
    dribble_bps: int | None = None
    transport: TransportKind | None = None
    #: With ``transport`` or ``status``: run the function first, then break the reply or answer
    #: the status (the write happened but the client cannot know: the case that must never be
    #: blindly retried).
    after_execution: bool = False
    item_failures: tuple[InjectedFailure, ...] = ()

    def __post_init__(self) -> None:
        kinds = [
            k
            for k in ("status", "transport", "item_failures")
            if getattr(self, k) not in (None, ())
        ]
        if len(kinds) > 1:
            raise InvalidInput(kinds[1], f"cannot be combined with {kinds[0]} in one effect")
        integer(self.latency_ms, "latency_ms", low=0, high=600_000)
        if self.dribble_bps is not None:
            integer(self.dribble_bps, "dribble_bps", low=1, high=100_000_000)
            if self.transport is not None:
                raise InvalidInput("dribble_bps", "cannot be combined with transport")
        if self.status is not None:
            integer(self.status, "status", low=400, high=599)
            if self.status in GATEWAY_STATUSES and self.body is None:
                object.__setattr__(self, "body", "html")  # a gateway's page, never an envelope
        else:
            for name in ("sub_code", "body_code", "retryable", "reset_ms", "body"):
                if getattr(self, name) is not None:
                    raise InvalidInput(name, "only meaningful with a status")
        if not kinds and not self.latency_ms and self.dribble_bps is None:
            raise InvalidInput(
                "",
                "needs one of status, transport, item_failures, or a latency_ms or dribble_bps "
                "above 0",
            )
        if self.body is not None:
            if self.body not in BODY_KINDS:
                raise InvalidInput(
                    "body", f"must be one of {', '.join(BODY_KINDS)}, got {self.body!r}"
                )
            if not 500 <= self.status <= 599:  # type: ignore[operator]
                raise InvalidInput("body", f"only meaningful with a 5xx status, got {self.status}")
            for name in ("sub_code", "body_code", "retryable"):
                if getattr(self, name) is not None:
                    raise InvalidInput(
                        name, "not meaningful with body (the answer has no envelope)"
                    )
        if self.sub_code is not None and not (
            isinstance(self.sub_code, str) and len(self.sub_code) == 4 and self.sub_code.isdigit()
        ):
            raise InvalidInput(
                "sub_code", f"must be four digits such as '0006', got {self.sub_code!r}"
            )
        if self.body_code is not None:
            text(self.body_code, "body_code")
        if self.retryable is not None and not isinstance(self.retryable, bool):
            raise InvalidInput("retryable", f"must be true, false or null, got {self.retryable!r}")
        if self.reset_ms is not None:
            if self.status != 429:
                raise InvalidInput("reset_ms", "only meaningful with status 429")
            integer(self.reset_ms, "reset_ms", low=0)
        if not isinstance(self.after_execution, bool):
            raise InvalidInput(
                "after_execution", f"must be true or false, got {self.after_execution!r}"
            )
        if self.after_execution and self.transport is None and self.status is None:
            raise InvalidInput(
                "after_execution", "only meaningful with a transport fault or a status"
            )
        if self.after_execution and self.status == 429:
            raise InvalidInput(
                "after_execution", "not meaningful with 429 (a call over quota never runs)"
            )
        if self.status is not None:
            _in_catalogue(self.status, self.sub_code, self.body_code)
        if self.transport is not None and self.transport not in TRANSPORT_KINDS:
            raise InvalidInput(
                "transport", f"must be one of {', '.join(TRANSPORT_KINDS)}, got {self.transport!r}"
            )
        for failure in self.item_failures:
            if not isinstance(failure, InjectedFailure):
                raise InvalidInput(
                    "item_failures", f"expected InjectedFailure entries, got {failure!r}"
                )

    @property
    def kind(self) -> Literal["status", "transport", "item_failures", "latency"]:
        """Which of the effect's forms this is (latency may accompany any of them)."""
        if self.status is not None:
            return "status"
        if self.transport is not None:
            return "transport"
        if self.item_failures:
            return "item_failures"
        return "latency"

    @property
    def replaces_answer(self) -> bool:
        """Whether the runner answers in the function's place: a transport fault, a status
        without the envelope, or any answer after the function ran."""
        return self.transport is not None or self.body is not None or self.after_execution

    def failures_for(self, index: int) -> tuple[InjectedFailure, ...]:
        """The failures injected into the item at ``index`` of the request's ``data``."""
        return tuple(f for f in self.item_failures if f.index is None or f.index == index)

    @classmethod
    def from_dict(cls, data: object) -> FaultEffect:
        """Build an effect from its JSON form; raises InvalidInput naming the bad field."""
        effect = json_object(data, "effect")
        known_fields(effect, _EFFECT_FIELDS, "effect")
        raw_items = effect.get("item_failures", [])
        if not isinstance(raw_items, list):
            raise InvalidInput("effect.item_failures", "must be a list")
        items = tuple(
            InjectedFailure.from_dict(item, f"effect.item_failures[{i}]")
            for i, item in enumerate(raw_items)
        )
        try:
            fields = {k: v for k, v in effect.items() if k != "item_failures"}
            return cls(**fields, item_failures=items)
        except InvalidInput as exc:
            raise exc.within("effect") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, without the fields left at their defaults."""
        out: dict[str, Any] = {}
        for name in _EFFECT_FIELDS[:-1]:
            value = getattr(self, name)
            if value is not None and not (
                (name == "latency_ms" and value == 0) or (name == "after_execution" and not value)
            ):
                out[name] = value
        if self.item_failures:
            out["item_failures"] = [f.to_dict() for f in self.item_failures]
        return out


@dataclass(frozen=True, slots=True)
class FaultRule:
    """Which calls (path, user, window, probability) get which ``effect``; see the module doc."""

    path: str
    effect: FaultEffect
    user: str | None = None
    call_number: int | None = None
    times: int | None = None
    probability: float | None = None
    seed: int | None = None
    id: str | None = None
    note: str | None = None
    at: Step = "fault"

    def __post_init__(self) -> None:
        text(self.path, "path")
        if self.user is not None:
            text(self.user, "user")
        if self.call_number is not None:
            integer(self.call_number, "call_number", low=1)
        if self.times is not None:
            integer(self.times, "times", low=1)
        if self.probability is not None and (
            isinstance(self.probability, bool)
            or not isinstance(self.probability, int | float)
            or not 0 < self.probability <= 1
        ):
            raise InvalidInput(
                "probability", f"must be above 0 and at most 1, got {self.probability!r}"
            )
        if self.seed is not None:
            integer(self.seed, "seed", low=0)
        if self.id is not None:
            text(self.id, "id")
        if self.note is not None and not isinstance(self.note, str):
            raise InvalidInput("note", f"must be a string, got {self.note!r}")
        if not isinstance(self.effect, FaultEffect):
            raise InvalidInput("effect", "must be a FaultEffect")
        if self.at not in STEPS:
            raise InvalidInput("at", f"must be one of {', '.join(STEPS)}, got {self.at!r}")
        if self.at == "quota":
            _quota_effect(self.effect)

    @classmethod
    def forced_quota(
        cls,
        path: str,
        *,
        call_number: int,
        reset_ms: int,
        user: str | None = None,
        id: str | None = None,
    ) -> FaultRule:
        """The ``call_number``-th call to ``path`` (by ``user``, or anyone) answers 429 0008 with
        ``X-RateLimit-Reset: reset_ms``, at the rate-limit step (see the module doc)."""
        effect = FaultEffect(status=429, sub_code="0008", reset_ms=reset_ms)
        return cls(path, effect, user=user, call_number=call_number, id=id, at="quota")

    @property
    def window(self) -> tuple[int, int | None]:
        """(first matching call it applies to, how many calls; None = unbounded)."""
        start = self.call_number or 1
        if self.times is not None:
            return start, self.times
        return start, (1 if self.call_number is not None else None)

    @classmethod
    def from_dict(cls, data: object) -> FaultRule:
        """Build a rule from ``{"match": {...}, "effect": {...}}``; InvalidInput names the bad
        fields."""
        rule = json_object(data, "rule")
        known_fields(rule, ("id", "note", "at", "match", "effect"), "")
        for name in ("match", "effect"):
            if name not in rule:
                raise InvalidInput(name, "required")
        match = json_object(rule["match"], "match")
        known_fields(match, _MATCH_FIELDS, "match")
        if "path" not in match:
            raise InvalidInput("match.path", "required")
        effect = FaultEffect.from_dict(rule["effect"])
        try:
            return cls(
                effect=effect,
                id=rule.get("id"),
                note=rule.get("note"),
                at=rule.get("at", "fault"),
                **match,
            )
        except InvalidInput as exc:
            field = exc.problems[0].field.partition(".")[0]
            if field in ("id", "note", "at", "effect"):
                raise
            raise exc.within("match") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as ``from_dict`` reads it."""
        match = {name: getattr(self, name) for name in _MATCH_FIELDS}
        out: dict[str, Any] = {"id": self.id}
        if self.note is not None:
            out["note"] = self.note
        if self.at != "fault":
            out["at"] = self.at
        out["match"] = {k: v for k, v in match.items() if v is not None}
        out["effect"] = self.effect.to_dict()
        return out
