"""Validation of a seed document into a typed plan, before anything touches the database.

Each check names the path of the value it rejects (``accounts[0].users[2].email``), unknown keys
included, so a typo in a seed file is reported instead of silently ignored. Values are normalised
with the same validators the store uses (:mod:`._validate`), and references between parts of the
document (a binding's user and application) and duplicates across it are resolved here.

The optional ``generate`` table of an account asks for generated data (messages, held mail, audit
events, click logs) once the seed's rows are in; :func:`generate_plan` validates it, and the admin
API's generate route validates its body with the same function, so both obey the same limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NoReturn

from mcapi.emulator._store import _ops
from mcapi.emulator._store import _validate as check
from mcapi.emulator._store._errors import SeedError
from mcapi.emulator._store._seed_api2 import API2_KEY, Api2Plan, api2_plan

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
    raise SeedError(f"{path}: {message}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _table(
    value: Any, path: str, allowed: set[str], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path or "seed", f"expected a table/object, got {kind(value)}")
    for key in sorted(set(value) - allowed):
        _fail(_join(path, key), f"unknown key (known: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in value:
            _fail(_join(path, key), "required")
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
    optional); SeedError naming ``path.field`` for an unknown key, a wrong type or a value outside
    :data:`GENERATE_LIMITS`."""
    table = _table(value, path, set(GENERATE_DEFAULTS))
    values = {**GENERATE_DEFAULTS, **table}
    for name, (low, high) in GENERATE_LIMITS.items():
        number = values[name]
        if isinstance(number, bool) or not isinstance(number, int):
            _fail(f"{path}.{name}", f"expected a whole number, got {kind(number)}")
        if not low <= number <= high:
            _fail(f"{path}.{name}", f"must be between {low} and {high}, got {number}")
    return GeneratePlan(**values)


def _unique(seen: dict[str, str], value: str, path: str, what: str) -> None:
    if value in seen:
        _fail(path, f"{what} {value!r} also at {seen[value]}")
    seen[value] = path


def _domain(item: Any, path: str, seen: _Seen) -> DomainPlan:
    d = _table({"domain": item} if isinstance(item, str) else item, path, _DOMAIN_KEYS, ("domain",))
    name = _checked(check.domain_name, d["domain"], f"{path}.domain")
    _unique(seen.domains, name, f"{path}.domain", "domain")
    inbound = _checked(check.inbound_type, d.get("inbound_type", "known"), f"{path}.inbound_type")
    return DomainPlan(path, name, inbound)


def _application(item: Any, path: str, seen: _Seen) -> AppPlan:
    a = _table(item, path, _APP_KEYS, ("name",))
    app_id = _text(a, "app_id", path) if "app_id" in a else None
    if app_id is not None:
        _unique(seen.app_ids, app_id, f"{path}.app_id", "application id")
    app_key = _text(a, "app_key", path) if "app_key" in a else None
    return AppPlan(path, _text(a, "name", path), app_id, app_key)


def _user(item: Any, path: str, seen: _Seen) -> UserPlan:
    u = _table(item, path, _USER_KEYS, ("email",))
    email = _checked(check.email_address, u["email"], f"{path}.email")
    _unique(seen.emails, email, f"{path}.email", "e-mail address")
    name, password = u.get("name", ""), u.get("password")
    if not isinstance(name, str):
        _fail(f"{path}.name", f"expected a string, got {kind(name)}")
    if password is not None and (not isinstance(password, str) or not password):
        _fail(f"{path}.password", f"expected a non-empty string, got {kind(password)}")
    if len(name) > _LENGTHS["name"]:
        _fail(f"{path}.name", f"at most {_LENGTHS['name']} characters, got {len(name)}")
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
    ip_ranges = u.get("ip_ranges")
    return UserPlan(
        path=path,
        email=email,
        name=name.strip(),
        password=password,
        auth_types=_checked(check.auth_types, u.get("auth_types", ["cloud"]), f"{path}.auth_types"),
        permissions=_checked(check.permissions, u.get("permissions", []), f"{path}.permissions"),
        status=_checked(check.status, u.get("status", "active"), f"{path}.status"),
        password_expired=expired,
        password_expires_at=None if expires_at is None else float(expires_at),
        ip_ranges=None
        if ip_ranges is None
        else _checked(check.cidr_list, ip_ranges, f"{path}.ip_ranges"),
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


def _binding(
    item: Any, path: str, users: list[UserPlan], apps: list[AppPlan], seen: _Seen
) -> BindingPlan:
    b = _table(item, path, _BINDING_KEYS, ("user",))
    email = _checked(check.email_address, b["user"], f"{path}.user")
    if email not in {u.email for u in users}:
        _fail(f"{path}.user", f"no user {email!r} in this account's users")
    access_key = b.get("access_key")
    if access_key is not None:
        access_key = _checked(_ops.access_key, access_key, f"{path}.access_key")
        _unique(seen.access_keys, access_key, f"{path}.access_key", "access key")
    secret = b.get("secret_key")
    inherit = "ttl_seconds" not in b
    return BindingPlan(
        path=path,
        email=email,
        app_index=_application_index(b, path, apps),
        access_key=access_key,
        secret_key=None if secret is None else _secret(secret, f"{path}.secret_key"),
        inherit_ttl=inherit,
        ttl_seconds=None
        if inherit
        else _policy("binding_ttl_seconds", b["ttl_seconds"], f"{path}.ttl_seconds"),
    )


def _account(item: Any, path: str, seen: _Seen) -> AccountPlan:
    acc = _table(item, path, _ACCOUNT_KEYS, ("code", "name"))
    code = _text(acc, "code", path)
    _unique(seen.codes, code, f"{path}.code", "account code")
    policy = _table(acc.get("policy", {}), f"{path}.policy", set(check.POLICY_FIELDS))

    def each(key: str) -> list[tuple[Any, str]]:
        return [(x, f"{path}.{key}[{i}]") for i, x in enumerate(_list(acc, key, path))]

    users = [_user(x, p, seen) for x, p in each("users")]
    apps = [_application(x, p, seen) for x, p in each("applications")]
    plan = AccountPlan(
        path=path,
        code=code,
        name=_text(acc, "name", path),
        region=_text(acc, "region", path, "us"),
        policy={k: _policy(k, v, f"{path}.policy.{k}") for k, v in policy.items()},
        domains=[_domain(x, p, seen) for x, p in each("domains")],
        applications=apps,
        users=users,
        bindings=[_binding(x, p, users, apps, seen) for x, p in each("bindings")],
        api2_applications=[api2_plan(x, p, seen.client_ids) for x, p in each(API2_KEY)],
    )
    if "generate" not in acc:
        return plan
    generate = generate_plan(acc["generate"], f"{path}.generate")
    if not plan.domains:  # the generated people's addresses are in the account's first domain
        _fail(f"{path}.generate", f"needs a domain in {path}.domains for the people's addresses")
    return replace(plan, generate=generate)


def validate_seed(doc: Any) -> list[AccountPlan]:
    """The plan of ``doc``'s accounts; SeedError naming the first invalid value."""
    top = _table(doc, "", _TOP_KEYS, ("accounts",))
    if top.get("version", 1) != 1:
        _fail("version", f"unsupported seed version {top['version']!r} (this emulator reads 1)")
    seen = _Seen()
    return [_account(a, f"accounts[{i}]", seen) for i, a in enumerate(_list(top, "accounts", ""))]
