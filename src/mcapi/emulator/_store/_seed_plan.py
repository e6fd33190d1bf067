"""Validation of a seed document into a typed plan, before anything touches the database.

Each check names the path of the value it rejects (``accounts[0].users[2].email``), unknown keys
included, so a typo in a seed file is reported instead of silently ignored; the document is
checked whole (a :class:`~mcapi.emulator._validation.Problems` collector), so one run reports
every problem of a file. Values are normalised
with the same validators the store uses (:mod:`._validate`), and references between parts of the
document (a binding's user and application) and duplicates across it are resolved here.

The optional ``generate`` table of an account asks for generated data (messages, held mail, audit
events, click logs) once the seed's rows are in; :func:`generate_plan` validates it, and the admin
API's generate route validates its body with the same function, so both obey the same limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, NoReturn, TypeVar

from mcapi.emulator._store import _ops
from mcapi.emulator._store import _validate as check
from mcapi.emulator._store._errors import SeedError
from mcapi.emulator._store._seed_api2 import API2_KEY, Api2Plan, api2_plan
from mcapi.emulator._validation import Problems

__all__ = [
    "GENERATE_DEFAULTS",
    "GENERATE_LIMITS",
    "MAX_INTEGER",
    "AccountPlan",
    "AppPlan",
    "BindingPlan",
    "DomainPlan",
    "GeneratePlan",
    "UserPlan",
    "bounded_policy_value",
    "generate_plan",
    "validate_seed",
]

NEVER = "never"  # TOML has no null: "never" stands for a TTL that never expires
#: The largest integer a policy value may hold (the columns are 32-bit on PostgreSQL).
MAX_INTEGER = 2**31 - 1
#: What a ``generate`` table (or the admin API's generate route) leaves out.
GENERATE_DEFAULTS: Mapping[str, int] = {
    "seed": 1,
    "users": 50,
    "days": 7,
    "messages_per_user_day": 20,
}
#: (lowest, highest) of each ``generate`` field (a week of a 500-user tenant takes about 3 s).
GENERATE_LIMITS: Mapping[str, tuple[int, int]] = {
    "seed": (0, 2**63 - 1),
    "users": (1, 5000),
    "days": (1, 30),
    "messages_per_user_day": (0, 500),
}
_TOP_KEYS = {"version", "accounts"}
_ACCOUNT_KEYS = {"code", "name", "region", "policy", "domains", "applications", "users"}
_ACCOUNT_KEYS |= {"bindings", "generate", API2_KEY}
#: Longest text each column holds.
_LENGTHS = {"code": 32, "name": 200, "region": 16, "app_id": 64, "app_key": 128}
_DOMAIN_KEYS = {"domain", "inbound_type"}
_APP_KEYS = {"name", "app_id", "app_key"}
_USER_KEYS = {
    "email",
    "name",
    "password",
    "auth_types",
    "permissions",
    "status",
    "password_expired",
    "password_expires_at",
    "ip_ranges",
}
_BINDING_KEYS = {"user", "application", "access_key", "secret_key", "ttl_seconds"}
_POLICY = set(check.POLICY_FIELDS)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DomainPlan:
    path: str
    domain: str
    inbound_type: str


@dataclass(frozen=True, slots=True)
class AppPlan:
    path: str
    name: str
    app_id: str | None
    app_key: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class UserPlan:
    path: str
    email: str
    name: str
    password: str | None = field(repr=False)
    auth_types: list[str]
    permissions: list[str]
    status: str
    password_expired: bool
    password_expires_at: float | None
    ip_ranges: list[str] | None


@dataclass(frozen=True, slots=True)
class BindingPlan:
    path: str
    email: str
    app_index: int
    access_key: str | None
    secret_key: str | None = field(repr=False)
    inherit_ttl: bool
    ttl_seconds: int | None


@dataclass(frozen=True, slots=True)
class GeneratePlan:
    """Generated data for one account: ``users`` people, ``days`` days of mail (same seed, same
    data)."""

    seed: int
    users: int
    days: int
    messages_per_user_day: int

    def as_kwargs(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AccountPlan:
    path: str
    code: str
    name: str
    region: str
    policy: dict[str, Any]
    domains: list[DomainPlan]
    applications: list[AppPlan]
    users: list[UserPlan]
    bindings: list[BindingPlan]
    generate: GeneratePlan | None = None
    #: API 2.0 applications (``api2_applications``, :mod:`._seed_api2`)
    api2_applications: list[Api2Plan] = field(default_factory=list)


#: 9999-12-31T23:59:59Z, the last second a datetime (and so the emulator clock) can show.
_MAX_EPOCH = 253402300799.0


@dataclass
class _Seen:
    """Values that must be unique across the document -> the path that used them first."""

    codes: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    app_ids: dict[str, str] = field(default_factory=dict)
    access_keys: dict[str, str] = field(default_factory=dict)
    client_ids: dict[str, str] = field(default_factory=dict)


def kind(value: Any) -> str:
    names = {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)


def _fail(path: str, message: str) -> NoReturn:
    raise SeedError(path, message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _table(
    value: Any, path: str, allowed: set[str], p: Problems, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``value`` if it is a table (SeedError if not); its unknown and missing keys go to ``p``."""
    if not isinstance(value, dict):
        _fail(path or "seed", f"expected a table/object, got {kind(value)}")
    for key in sorted(set(value) - allowed):
        p.add(_join(path, key), f"unknown key (known: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in value:
            p.add(_join(path, key), "required")
    return value


def _list(table: Mapping[str, Any], key: str, path: str) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list):
        _fail(_join(path, key), f"expected a list, got {kind(value)}")
    return value


def _text(table: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        _fail(f"{path}.{key}", "required" if value is None else "expected a non-empty string")
    limit = _LENGTHS.get(key, 200)
    if len(value.strip()) > limit:
        _fail(f"{path}.{key}", f"at most {limit} characters, got {len(value.strip())}")
    return value.strip()


def _checked(validate: Callable[[Any], Any], value: Any, path: str) -> Any:
    try:
        return validate(value)
    except ValueError as exc:
        _fail(path, str(exc))


def _too_large(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_too_large(v) for v in value.values())
    return isinstance(value, int) and value > MAX_INTEGER


def bounded_policy_value(name: str, value: Any) -> Any:
    """``check.policy_value`` with integers kept to :data:`MAX_INTEGER`: the normalised value of
    account policy ``name``; ValueError for an unknown name, a wrong type or a value out of range.
    """
    normalised = check.policy_value(name, value)
    if _too_large(normalised):
        raise ValueError(f"must be at most {MAX_INTEGER}, got {value!r}")
    return normalised


def _policy(key: str, value: Any, path: str) -> Any:
    return _checked(lambda v: bounded_policy_value(key, None if v == NEVER else v), value, path)


def generate_plan(value: Any, path: str = "generate") -> GeneratePlan:
    """Validate a ``generate`` table (``{seed, users, days, messages_per_user_day}``, every key
    optional); SeedError naming ``path.field`` for each unknown key, wrong type or value outside
    :data:`GENERATE_LIMITS`."""
    p = Problems()
    table = _table(value, path, set(GENERATE_DEFAULTS), p)
    values = {**GENERATE_DEFAULTS, **table}
    for name, (low, high) in GENERATE_LIMITS.items():
        number = values[name]
        if isinstance(number, bool) or not isinstance(number, int):
            p.add(_join(path, name), f"expected a whole number, got {kind(number)}")
        elif not low <= number <= high:
            p.add(_join(path, name), f"must be between {low} and {high}, got {number}")
    p.raise_if_any(SeedError)
    return GeneratePlan(**{name: values[name] for name in GENERATE_DEFAULTS})


def _unique(seen: dict[str, str], value: str, path: str, what: str) -> None:
    if value in seen:
        _fail(path, f"{what} {value!r} also at {seen[value]}")
    seen[value] = path


def _domain(item: Any, path: str, seen: _Seen, p: Problems) -> DomainPlan:
    d = _table(
        {"domain": item} if isinstance(item, str) else item, path, _DOMAIN_KEYS, p, ("domain",)
    )

    def name() -> str:
        value: str = _checked(check.domain_name, d["domain"], f"{path}.domain")
        _unique(seen.domains, value, f"{path}.domain", "domain")
        return value

    inbound = d.get("inbound_type", "known")
    return DomainPlan(
        path,
        p.check(name) if "domain" in d else "",
        p.check(lambda: _checked(check.inbound_type, inbound, f"{path}.inbound_type")),
    )


def _application(item: Any, path: str, seen: _Seen, p: Problems) -> AppPlan:
    a = _table(item, path, _APP_KEYS, p, ("name",))

    def app_id() -> str:
        value = _text(a, "app_id", path)
        _unique(seen.app_ids, value, f"{path}.app_id", "application id")
        return value

    return AppPlan(
        path,
        p.check(lambda: _text(a, "name", path)) if "name" in a else "",
        p.check(app_id) if "app_id" in a else None,
        p.check(lambda: _text(a, "app_key", path)) if "app_key" in a else None,
    )


def _expiry(u: Mapping[str, Any], path: str) -> tuple[bool, float | None]:
    if "password_expired" in u and "password_expires_at" in u:
        _fail(path, "give password_expired or password_expires_at, not both")
    expired = u.get("password_expired", False)
    if not isinstance(expired, bool):
        _fail(f"{path}.password_expired", f"expected true or false, got {kind(expired)}")
    expires_at = u.get("password_expires_at")
    if expires_at is not None and (
        isinstance(expires_at, bool)
        or not isinstance(expires_at, int | float)
        or not 0 <= expires_at <= _MAX_EPOCH
    ):
        _fail(f"{path}.password_expires_at", "expected epoch seconds (a number, 1970 to 9999)")
    return expired, None if expires_at is None else float(expires_at)


def _user(item: Any, path: str, seen: _Seen, p: Problems) -> UserPlan:
    u = _table(item, path, _USER_KEYS, p, ("email",))

    def email() -> str:
        value: str = _checked(check.email_address, u["email"], f"{path}.email")
        _unique(seen.emails, value, f"{path}.email", "e-mail address")
        return value

    def name() -> str:
        value = u.get("name", "")
        if not isinstance(value, str):
            _fail(f"{path}.name", f"expected a string, got {kind(value)}")
        if len(value) > _LENGTHS["name"]:
            _fail(f"{path}.name", f"at most {_LENGTHS['name']} characters, got {len(value)}")
        return value.strip()

    def password() -> str | None:
        value = u.get("password")
        if value is not None and (not isinstance(value, str) or not value):
            _fail(f"{path}.password", f"expected a non-empty string, got {kind(value)}")
        return value

    def field(validate: Callable[[Any], Any], key: str, default: Any) -> Any:
        return p.check(lambda: _checked(validate, u.get(key, default), f"{path}.{key}"))

    expired, expires_at = p.check(lambda: _expiry(u, path)) or (False, None)
    ip_ranges = u.get("ip_ranges")
    return UserPlan(
        path=path,
        email=p.check(email) if "email" in u else "",
        name=p.check(name),
        password=p.check(password),
        auth_types=field(check.auth_types, "auth_types", ["cloud"]),
        permissions=field(check.permissions, "permissions", []),
        status=field(check.status, "status", "active"),
        password_expired=expired,
        password_expires_at=expires_at,
        ip_ranges=None if ip_ranges is None else field(check.cidr_list, "ip_ranges", None),
    )


def _application_index(b: Mapping[str, Any], path: str, apps: list[AppPlan]) -> int:
    if "application" not in b:
        if len(apps) != 1:
            _fail(f"{path}.application", f"required: the account has {len(apps)} applications")
        return 0
    ref = _text(b, "application", path)
    matches = [i for i, app in enumerate(apps) if ref in (app.name, app.app_id)]
    if len(matches) != 1:
        _fail(
            f"{path}.application",
            f"{ref!r} names {len(matches)} of this account's applications, not 1",
        )
    return matches[0]


def _secret(value: Any, path: str) -> str:
    secret: str = _checked(_ops.secret_key, value, path)
    if len(secret) > _LENGTHS["app_key"]:
        _fail(path, f"at most {_LENGTHS['app_key']} characters, got {len(secret)}")
    return secret


@dataclass(frozen=True, slots=True)
class _Parts:
    """An account's valid users and applications, and whether some were invalid (a binding
    naming one of those is not reported again: its user or application already was)."""

    users: list[UserPlan]
    apps: list[AppPlan]
    complete: bool


def _binding(item: Any, path: str, parts: _Parts, seen: _Seen, p: Problems) -> BindingPlan:
    b = _table(item, path, _BINDING_KEYS, p, ("user",))

    def email() -> str:
        value: str = _checked(check.email_address, b["user"], f"{path}.user")
        if parts.complete and value not in {u.email for u in parts.users}:
            _fail(f"{path}.user", f"no user {value!r} in this account's users")
        return value

    def access_key() -> str | None:
        value = b.get("access_key")
        if value is None:
            return None
        key: str = _checked(_ops.access_key, value, f"{path}.access_key")
        _unique(seen.access_keys, key, f"{path}.access_key", "access key")
        return key

    secret = b.get("secret_key")
    inherit = "ttl_seconds" not in b
    ttl = None if inherit else b["ttl_seconds"]
    return BindingPlan(
        path=path,
        email=p.check(email) if "user" in b else "",
        app_index=p.check(lambda: _application_index(b, path, parts.apps)) if parts.complete else 0,
        access_key=p.check(access_key),
        secret_key=None
        if secret is None
        else p.check(lambda: _secret(secret, f"{path}.secret_key")),
        inherit_ttl=inherit,
        ttl_seconds=None
        if inherit
        else p.check(lambda: _policy("binding_ttl_seconds", ttl, f"{path}.ttl_seconds")),
    )


def _each(
    acc: Mapping[str, Any], key: str, path: str, p: Problems, part: Callable[[Any, str], _T]
) -> tuple[list[_T], bool]:
    """Each item of the list ``acc[key]`` through ``part``: the valid ones, and whether every
    item was valid."""
    items = p.check(lambda: _list(acc, key, path))
    if items is None:
        return [], False
    before = len(p)
    plans: list[_T] = []
    for i, x in enumerate(items):
        plan = p.check(partial(part, x, f"{_join(path, key)}[{i}]"))
        if plan is not None:
            plans.append(plan)
    return plans, len(p) == before


def _account(item: Any, path: str, seen: _Seen, p: Problems) -> AccountPlan:
    acc = _table(item, path, _ACCOUNT_KEYS, p, ("code", "name"))

    def code() -> str:
        value = _text(acc, "code", path)
        _unique(seen.codes, value, f"{path}.code", "account code")
        return value

    raw_policy = p.check(lambda: _table(acc.get("policy", {}), f"{path}.policy", _POLICY, p))
    policy = {
        k: p.check(partial(_policy, k, v, f"{path}.policy.{k}"))
        for k, v in (raw_policy or {}).items()
        if k in _POLICY
    }
    users, users_ok = _each(acc, "users", path, p, lambda x, at: _user(x, at, seen, p))
    apps, apps_ok = _each(acc, "applications", path, p, lambda x, at: _application(x, at, seen, p))
    domains, domains_ok = _each(acc, "domains", path, p, lambda x, at: _domain(x, at, seen, p))
    parts = _Parts(users, apps, users_ok and apps_ok)
    bindings, _ = _each(acc, "bindings", path, p, lambda x, at: _binding(x, at, parts, seen, p))
    api2, _ = _each(acc, API2_KEY, path, p, lambda x, at: api2_plan(x, at, seen.client_ids))
    generate = None
    if "generate" in acc:
        generate = p.check(lambda: generate_plan(acc["generate"], f"{path}.generate"))
        if not domains and domains_ok:
            # the generated people's addresses are in the account's first domain
            needs = f"needs a domain in {path}.domains for the people's addresses"
            p.add(f"{path}.generate", needs)
    return AccountPlan(
        path=path,
        code=p.check(code) if "code" in acc else "",
        name=p.check(lambda: _text(acc, "name", path)) if "name" in acc else "",
        region=p.check(lambda: _text(acc, "region", path, "us")),
        policy=policy,
        domains=domains,
        applications=apps,
        users=users,
        bindings=bindings,
        generate=generate,
        api2_applications=api2,
    )


def validate_seed(doc: Any) -> list[AccountPlan]:
    """The plan of ``doc``'s accounts; SeedError naming every invalid value of the document."""
    p = Problems()
    top = _table(doc, "", _TOP_KEYS, p, ("accounts",))
    if top.get("version", 1) != 1:
        p.add("version", f"unsupported seed version {top['version']!r} (this emulator reads 1)")
    seen = _Seen()
    accounts, _ = _each(top, "accounts", "", p, lambda a, at: _account(a, at, seen, p))
    p.raise_if_any(SeedError)
    return accounts
