"""What an administrator does to an emulator: one implementation for Python and the admin API.

``Emulator.admin`` (and the pytest fixture ``mcapi_admin``) is an :class:`Admin`; the admin API's
routes under ``/_emulator/`` (:mod:`._admin`) parse the request and call the same methods, so a
test that locks a user from Python and an operator running ``mcapi emulator user lock`` go through
the same checks and the same store operations.

Every method validates all of its arguments before it changes anything. A refusal is an
:class:`~mcapi.emulator._validation.InvalidInput` (a ``ValueError``, ``status`` 400; also known
as ``AdminError``) whose problems name the fields, or an :class:`UnknownTarget` (an
``InvalidInput`` and a ``LookupError``, ``status`` 404) for a user, account or application that
does not exist; the admin API answers ``{"error", "problems"}`` with that status.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mcapi.emulator._api2_admin import Api2AdminOps
from mcapi.emulator._data import generate as generate_data
from mcapi.emulator._data._generator import STAGES as GENERATE_STAGES
from mcapi.emulator._jobs import Progress
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._store import (
    Account,
    RowNotFound,
    SeedError,
    SeedSummary,
    Store,
    User,
    apply_seed,
)
from mcapi.emulator._store._demo import DEMO_DATA, ensure_demo
from mcapi.emulator._store._seed_plan import (
    GENERATE_DEFAULTS,
    bounded_policy_value,
    generate_plan,
)
from mcapi.emulator._validation import InvalidInput, Problem, Problems

__all__ = [
    "ACCOUNT_TTL",
    "ADMIN_TOKEN_SETTING",
    "CLOCK_FIELDS",
    "MAX_EPOCH",
    "MAX_SPAN_SECONDS",
    "Admin",
    "AdminError",
    "BindingKeys",
    "InvalidInput",
    "UnknownTarget",
]

#: The ``emulator_settings`` row holding a served emulator's generated admin token.
ADMIN_TOKEN_SETTING = "emulator.admin_token"
#: 9999-12-31T23:59:59Z: the clock stays where a datetime (and an ISO 8601 answer) can show it.
MAX_EPOCH = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
#: The longest step of one clock advance, and the longest administrator lock: 10 years.
MAX_SPAN_SECONDS = 10 * 366 * 86400
#: What a clock change may say, in the order they are applied.
CLOCK_FIELDS = ("reset", "freeze", "set", "advance", "resume")


#: A refused administrator operation: the one validation error, under the name it has long had.
AdminError = InvalidInput


class UnknownTarget(InvalidInput, LookupError):
    """The user, account, application or rule a request names does not exist (404); the
    problem's ``field`` is where the request named it."""

    status = 404


class _Default(enum.Enum):
    ACCOUNT_TTL = "the account's binding_ttl_seconds"


#: ``create_binding``'s default lifetime: the account's ``binding_ttl_seconds``.
ACCOUNT_TTL = _Default.ACCOUNT_TTL


@dataclass(frozen=True, slots=True)
class BindingKeys:
    """A binding made by :meth:`Admin.create_binding`: what a client signs with."""

    app_id: str
    app_key: str = field(repr=False)
    access_key: str
    secret_key: str = field(repr=False)
    #: epoch seconds on the emulator clock; None = never expires
    expires_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any, name: str, high: float, unit: str) -> float:
    """A finite number between 0 and ``high`` (``unit`` names it in messages), as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(name, f"expected a number, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not 0 <= number <= high:
        raise InvalidInput(
            name, f"must be between 0 and {high:.0f} {unit} (10 years), got {_shown(value)}"
        )
    return number


def _text(value: Any, name: str, limit: int = 1024, *, secret: bool = False) -> str:
    if not isinstance(value, str) or not value:
        # a secret's value is never echoed, only its type: the error reaches logs and terminals
        shown = type(value).__name__ if secret else _shown(value)
        raise InvalidInput(name, f"expected a non-empty string, got {shown}")
    if len(value) > limit:
        raise InvalidInput(name, f"at most {limit} characters, got {len(value)}")
    return value


def _instant(value: Any) -> float:
    """``set``: epoch seconds, an ISO 8601 text with a time zone, or an aware datetime."""
    given = value
    moment: datetime | None = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("set", f"{_shown(value)} is not an ISO 8601 time") from None
    if moment is not None:
        if moment.tzinfo is None:
            raise InvalidInput("set", "give a time zone (e.g. 2026-01-01T00:00:00Z)")
        try:
            value = moment.timestamp()
        except (OverflowError, ValueError):
            value = math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("set", "epoch seconds or an ISO 8601 time")
    try:
        epoch = float(value)
    except OverflowError:
        epoch = math.inf
    if not 0 <= epoch <= MAX_EPOCH:
        raise InvalidInput(
            "set",
            f"must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z, got {_shown(given)}",
        )
    return epoch


class Admin(Api2AdminOps):
    """The administrator's handle on one emulator (``Emulator.admin``).

    Users are named by e-mail address, accounts by account code. See the module docstring for the
    errors; docs/emulator.md section 5 has examples.
    """

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    @property
    def store(self) -> Store:
        return self.state.store

    # ---- users ----------------------------------------------------------------------------------
    def users(self) -> list[User]:
        """Every user of every account, account by account, in creation order."""
        store = self.store
        return [u for account in store.list_accounts() for u in store.list_users(account.id)]

    def user(self, email: str) -> User:
        """The user with this address (case-insensitive); UnknownTarget if there is none."""
        found = self.store.find_user(email) if isinstance(email, str) else None
        if found is None:
            raise UnknownTarget("email", f"no user {email}")
        return found

    def lock_user(self, email: str, minutes: float = 15) -> User:
        """Lock the user for ``minutes`` of emulator time (logins and calls get 401 0010)."""
        span = 60 * _number(minutes, "minutes", MAX_SPAN_SECONDS / 60, "minutes")
        user = self.user(email)
        return self.store.lock_user(user.id, self.state.clock.now() + span)

    def unlock_user(self, email: str) -> User:
        """Lift a lock and clear the failed-login count."""
        return self.store.unlock_user(self.user(email).id)

    def disable_user(self, email: str) -> User:
        """Disable the user: logins get 401 0011; the bindings are revoked (calls get 401 0012)."""
        return self.store.set_user_status(self.user(email).id, "disabled")

    def enable_user(self, email: str) -> User:
        """Enable a disabled user (revoked bindings stay revoked)."""
        return self.store.set_user_status(self.user(email).id, "active")

    def expire_password(self, email: str) -> User:
        """Expire the password now: logins get 403 0009."""
        return self.store.expire_password(self.user(email).id, self.state.clock.now())

    def set_password(self, email: str, password: str) -> User:
        """Set the password (clears its expiry; the user's bindings are revoked)."""
        value = _text(password, "password", secret=True)
        return self.store.set_password(self.user(email).id, value)

    def set_permissions(self, email: str, permissions: Iterable[str]) -> User:
        """Replace the permissions (``"*"`` = every one); the user's bindings are revoked."""
        from mcapi.emulator._store._validate import permissions as check_permissions

        try:
            value = check_permissions(permissions)
        except ValueError as exc:
            raise InvalidInput("permissions", str(exc)) from None
        return self.store.set_permissions(self.user(email).id, value)

    def set_ip_ranges(self, email: str, ranges: Iterable[str] | None) -> User:
        """The CIDR ranges the user's calls may come from (403 0016 otherwise); None = inherit
        the account's ``permitted_ip_ranges``."""
        from mcapi.emulator._store._validate import cidr_list

        try:
            value = None if ranges is None else cidr_list(ranges)
        except ValueError as exc:
            raise InvalidInput("ranges", str(exc)) from None
        return self.store.set_ip_ranges(self.user(email).id, value)

    def revoke_bindings(self, email: str) -> int:
        """Revoke every live binding of the user (calls get 401 0012); returns how many."""
        return self.store.revoke_bindings(self.user(email).id, "revoked by an administrator")

    def expire_binding(self, access_key: str) -> dict[str, Any]:
        """Expire one binding now (its calls get 418 0001 until a login refreshes it), whatever
        its TTL; returns ``{"access_key", "user", "expires_at"}`` (emulator time). UnknownTarget
        when no live (unrevoked) binding has this key."""
        key = _text(access_key, "access_key", 128)
        binding = self.store.get_binding(key)
        if binding is None or binding.revoked:
            raise UnknownTarget("access_key", f"no live binding with access key {key}")
        try:
            expired = self.store.refresh_binding(key, now=self.state.clock.now(), ttl_seconds=0)
        except RowNotFound:  # revoked or deleted meanwhile
            raise UnknownTarget("access_key", f"no live binding with access key {key}") from None
        owner = self.store.get_user(expired.user_id)
        return {
            "access_key": expired.access_key,
            "user": owner.email if owner is not None else None,
            "expires_at": expired.expires_at,
        }

    def create_binding(
        self,
        email: str,
        app_id: str | None = None,
        *,
        ttl_seconds: int | _Default | None = ACCOUNT_TTL,
    ) -> BindingKeys:
        """A binding as the administration console issues one: for ``app_id`` (default: the
        account's first application), living ``ttl_seconds`` (None = never expires; default: the
        account's ``binding_ttl_seconds``)."""
        ttl: int | None = None
        if ttl_seconds is not ACCOUNT_TTL:
            try:
                ttl = bounded_policy_value("binding_ttl_seconds", ttl_seconds)
            except ValueError as exc:
                raise InvalidInput("ttl_seconds", str(exc)) from None
        if app_id is not None:
            _text(app_id, "app_id", 64)
        store = self.store
        user = self.user(email)
        account = store.get_account(user.account_id)
        assert account is not None
        if app_id is None:
            apps = store.list_applications(account.id)
            if not apps:
                raise InvalidInput("app_id", "the account has no application; give app_id")
            application = apps[0]
        else:
            found = store.get_application(app_id)
            if found is None or found.account_id != account.id:
                raise UnknownTarget(
                    "app_id", f"no application {app_id} in account {account.account_code}"
                )
            application = found
        if ttl_seconds is ACCOUNT_TTL:
            ttl = account.binding_ttl_seconds
        binding = store.create_binding(
            user.id, application.app_id, now=self.state.clock.now(), ttl_seconds=ttl
        )
        return BindingKeys(
            app_id=application.app_id,
            app_key=application.app_key,
            access_key=binding.access_key,
            secret_key=binding.secret_key,
            expires_at=binding.expires_at,
        )

    # ---- accounts -------------------------------------------------------------------------------
    def account(self, account_code: str) -> Account:
        """The account with this code; UnknownTarget if there is none."""
        found = self.store.find_account(account_code) if isinstance(account_code, str) else None
        if found is None:
            raise UnknownTarget("account_code", f"no account {account_code}")
        return found

    def set_policy(self, account_code: str, /, **fields: Any) -> Account:
        """Change account policy fields (docs/seed-file.md lists them: lockout_threshold,
        lockout_seconds, binding_ttl_seconds, max_bindings_per_user, quota_limit, quota_reset_ms,
        function_quotas, permitted_ip_ranges)."""
        if not fields:
            raise InvalidInput("", "no policy field given")
        values = {}
        problems = Problems()
        for name, value in fields.items():
            try:
                values[name] = bounded_policy_value(name, value)
            except ValueError as exc:
                problems.add(name, str(exc))
        problems.raise_if_any()
        return self.store.update_account_policy(self.account(account_code).id, **values)

    def generate(
        self,
        account_code: str,
        *,
        seed: int = GENERATE_DEFAULTS["seed"],
        users: int = GENERATE_DEFAULTS["users"],
        days: int = GENERATE_DEFAULTS["days"],
        messages_per_user_day: int = GENERATE_DEFAULTS["messages_per_user_day"],
        progress: Progress | None = None,
    ) -> dict[str, int]:
        """Fill the account with ``days`` days (ending now, emulator time) of a ``users``-people
        tenant: messages, held mail, audit events, click logs, groups, SIEM files. The same
        arguments give the same data; generating again replaces what the generator made. Returns
        the counts. Limits: users 1..5000, days 1..30, messages_per_user_day 0..500. ``progress``
        (a job's) counts the generator's stages."""
        request = {"seed": seed, "users": users, "days": days}
        request["messages_per_user_day"] = messages_per_user_day
        try:
            plan = generate_plan(request, "")
        except SeedError as exc:
            raise InvalidInput(exc.problems) from None
        account = self.account(account_code)
        report = progress or Progress()
        report.add_total(len(GENERATE_STAGES))
        report.stage(f"generating {account.account_code}")
        summary = generate_data(
            self.store, account.id, now=self.state.clock.now(), **plan.as_kwargs(),
            on_stage=lambda stage: report.step(f"{account.account_code}: {stage}"),
        )  # fmt: skip
        return summary.counts()

    # ---- the whole emulator ---------------------------------------------------------------------
    def seed(self, document: Mapping[str, Any], progress: Progress | None = None) -> SeedSummary:
        """Load a seed document (docs/seed-file.md) in one transaction, then generate the data
        its accounts' ``generate`` tables ask for (``summary.generated`` has the counts)."""
        report = progress or Progress()
        report.add_total(1)
        report.stage("loading the seed (hashing passwords)")
        summary = apply_seed(self.store, document, now=self.state.clock.now())
        report.step("seed loaded")
        generated = {
            code: self.generate(code, **plan.as_kwargs(), progress=report)
            for code, plan in summary.generate.items()
        }
        return replace(summary, generated=generated)

    def reset(self, progress: Progress | None = None, *, demo: bool = False) -> dict[str, Any]:
        """Empty every table and forget fault rules (forced quotas included), rate limits,
        replays, lockouts of unknown addresses, the journal and the clock's offset. A served
        emulator's generated admin token is kept (it lives in the database, and the shell lines
        that hold it must keep working). Returns ``{"reset": True}``, the admin API's answer.

        With ``demo``, the demo tenant is then created afresh with its generated data, as
        ``serve --demo`` does on a new database, and the answer's ``demo`` holds its new keys
        and passwords (see :meth:`load_demo`)."""
        state = self.state
        report = progress or Progress()
        report.add_total(2)
        report.stage("emptying the tables")
        token = state.store.get_setting(ADMIN_TOKEN_SETTING)
        state.store.reset()
        report.step("tables emptied")
        if isinstance(token, str) and token:
            state.store.set_setting(ADMIN_TOKEN_SETTING, token)
        state.clock.reset()
        state.limiter.reset()
        state.faults.clear()
        state.journal.clear()
        state.replay.reset()
        report.step("faults, quotas, journal and clock cleared")
        if not demo:
            return {"reset": True}
        return {"reset": True, "demo": self.load_demo(report)}

    def load_demo(self, progress: Progress | None = None) -> dict[str, Any]:
        """Create the demo tenant unless it exists, generating its data when it is created;
        its credentials as the admin API answers them (secrets included: the admin token
        guards them)."""
        demo = ensure_demo(self.store, now=self.state.clock.now())
        generated = {}
        if demo.created:
            generated = self.generate(demo.account_code, **DEMO_DATA.as_kwargs(), progress=progress)
        return {**asdict(demo), "passwords": dict(demo.passwords), "generated": generated}

    def move_clock(
        self,
        *,
        reset: bool = False,
        freeze: bool = False,
        set_to: float | str | datetime | None = None,
        advance: float | None = None,
        resume: bool = False,
    ) -> dict[str, object]:
        """Change the clock in the order reset, freeze, set (and freeze), advance, resume; returns
        ``{"now", "iso", "frozen"}``. Nothing changes unless the whole request is valid."""
        request: dict[str, Any] = {"reset": reset, "freeze": freeze, "resume": resume}
        request = {name: flag for name, flag in request.items() if flag is not False}
        if set_to is not None:
            request["set"] = set_to
        if advance is not None:
            request["advance"] = advance
        return self.change_clock(request)

    def change_clock(self, request: Mapping[str, Any]) -> dict[str, object]:
        """:meth:`move_clock` from the admin API's body (``{"set": ..., "advance": ...}``)."""
        unknown = sorted(set(request) - set(CLOCK_FIELDS))
        if not request or unknown:
            give = f"give one or more of {', '.join(sorted(CLOCK_FIELDS))}"
            problems = [Problem(name, f"unknown field; {give}") for name in unknown]
            raise InvalidInput(problems or [Problem("", f"clock: {give}")])
        flags = {}
        for name in ("reset", "freeze", "resume"):
            flags[name] = request.get(name, False)
            if not isinstance(flags[name], bool):
                raise InvalidInput(name, f"true or false, got {_shown(flags[name])}")
        target = _instant(request["set"]) if "set" in request else None
        step = 0.0
        if "advance" in request:
            step = _number(request["advance"], "advance", MAX_SPAN_SECONDS, "seconds")
        clock = self.state.clock
        start = target if target is not None else time.time() if flags["reset"] else clock.now()
        if start + step > MAX_EPOCH:
            raise InvalidInput("advance", "would move the clock past 9999-12-31T23:59:59Z")
        if flags["reset"]:
            clock.reset()
        if flags["freeze"]:
            clock.freeze()
        if target is not None:
            clock.set(target)
        if step:
            clock.advance(step)
        if flags["resume"]:
            clock.resume()
        return clock.state()
