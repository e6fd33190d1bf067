"""Validation of a seed document into a typed plan, before anything touches the database.

Each check names the path of the value it rejects (``accounts[0].users[2].email``), unknown keys
included, so a typo in a seed file is reported instead of silently ignored. Values are normalised
with the same validators the store uses (:mod:`._validate`), and references between parts of the
document (a binding's user and application) and duplicates across it are resolved here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from mcapi.emulator._store import _ops
from mcapi.emulator._store import _validate as check
from mcapi.emulator._store._errors import SeedError

__all__ = ["AccountPlan", "AppPlan", "BindingPlan", "DomainPlan", "UserPlan", "validate_seed"]

NEVER = "never"  # TOML has no null: "never" stands for a TTL that never expires
_TOP_KEYS = {"version", "accounts"}
_ACCOUNT_KEYS = {"code", "name", "region", "policy", "domains", "applications", "users", "bindings"}
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


@dataclass
class _Seen:
    """Values that must be unique across the document -> the path that used them first."""

    codes: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    app_ids: dict[str, str] = field(default_factory=dict)
    access_keys: dict[str, str] = field(default_factory=dict)


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
    return value.strip()


def _checked(validate: Callable[[Any], Any], value: Any, path: str) -> Any:
    try:
        return validate(value)
    except ValueError as exc:
        _fail(path, str(exc))


def _policy(key: str, value: Any, path: str) -> Any:
    return _checked(lambda v: check.policy_value(key, None if v == NEVER else v), value, path)


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
    if "password_expired" in u and "password_expires_at" in u:
        _fail(path, "give password_expired or password_expires_at, not both")
    expired = u.get("password_expired", False)
    if not isinstance(expired, bool):
        _fail(f"{path}.password_expired", f"expected true or false, got {kind(expired)}")
    expires_at = u.get("password_expires_at")
    if expires_at is not None and (
        isinstance(expires_at, bool) or not isinstance(expires_at, int | float)
    ):
        _fail(f"{path}.password_expires_at", "expected epoch seconds (a number)")
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
        secret_key=None
        if secret is None
        else _checked(_ops.secret_key, secret, f"{path}.secret_key"),
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
    return AccountPlan(
        path=path,
        code=code,
        name=_text(acc, "name", path),
        region=_text(acc, "region", path, "us"),
        policy={k: _policy(k, v, f"{path}.policy.{k}") for k, v in policy.items()},
        domains=[_domain(x, p, seen) for x, p in each("domains")],
        applications=apps,
        users=users,
        bindings=[_binding(x, p, users, apps, seen) for x, p in each("bindings")],
    )


def validate_seed(doc: Any) -> list[AccountPlan]:
    """The plan of ``doc``'s accounts; SeedError naming the first invalid value."""
    top = _table(doc, "", _TOP_KEYS, ("accounts",))
    if top.get("version", 1) != 1:
        _fail("version", f"unsupported seed version {top['version']!r} (this emulator reads 1)")
    seen = _Seen()
    return [_account(a, f"accounts[{i}]", seen) for i, a in enumerate(_list(top, "accounts", ""))]
