"""The state of one API call as it passes the checks, and the verdict that stops it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mcapi._codes import CodeEntry, lookup
from mcapi._envelope import RequestEnvelope
from mcapi._signing import MCAuthorization
from mcapi.emulator._faults import FaultEffect
from mcapi.emulator._ratelimit import Decision
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._store import AuthContext
from mcapi.emulator.functions._registry import FunctionSpec


@dataclass(frozen=True, slots=True)
class Verdict:
    """A check's refusal: the catalogue entry to answer with, and why, in words."""

    entry: CodeEntry
    check: str
    reason: str
    message: str | None = None
    retryable: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def refuse(
    check: str, reason: str, status: int, sub_code: str | None = None, body_code: str | None = None
) -> Verdict:
    return Verdict(entry=lookup(status, sub_code, body_code), check=check, reason=reason)


@dataclass(slots=True)
class Call:
    """One request on its way through the pipeline; each check fills in what it learns."""

    state: EmulatorState
    method: str
    path: str
    headers: Mapping[str, str]
    client_ip: str
    body: bytes
    now: float
    spec: FunctionSpec | None = None
    request: RequestEnvelope | None = None
    signed: MCAuthorization | None = None
    auth: AuthContext | None = None
    rate: Decision | None = None
    fault: FaultEffect | None = None
    fault_rule: str | None = None
    #: The user a login or discovery call names (for the journal).
    login_user: str | None = None
    #: A replay check left to the quota step's round trip: (request id, the instant it is
    #: remembered at); see ``_binding.settle_replay``.
    pending_replay: tuple[str, float] | None = None
    #: Every request header as received (the journal keeps them, redacted).
    raw_headers: Sequence[tuple[bytes, bytes]] = ()
    #: The quota step's round trip left to the runner, which awaits it after the checks:
    #: (quota key, bucket, limit, reset ms); see ``_access.settle_quota``.
    pending_quota: tuple[str, str, int, int] | None = None

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-mc-req-id")

    @property
    def user_email(self) -> str | None:
        return self.auth.user.email if self.auth is not None else None
