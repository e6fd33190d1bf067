"""Checks and normalisation of the values the store accepts.

Each function returns the normalised value or raises ``ValueError`` with a message that reads well
after a path (the seed loader prefixes ``accounts[0].users[2].email: ``). The store and the seed
loader share them so that a policy set through the admin API and one set in a seed file obey the
same rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

#: Every read permission of the emulated functions: what the demo's read-only
#: user and the API 2.0 "Read Only" role hold.
READ_ONLY_PERMISSIONS = (
    "Account | Dashboard | Read",
    "Account | Logs | Read",
    "Gateway | Tracking | Read",
    "Monitoring | URL Protection | Read",
    "Monitoring | Attachment Protection | Read",
    "Monitoring | Impersonation Protection | Read",
    "Archive | Search Content View",
    "Archive | Search | Read",
    "Directories | Groups | Read",
    "Directories | Internal | Read",
    "Gateway | Policies | Read",
    "Services | Threat Remediation | Read",
    "Security Events and Data Retrieval | Threat and Security Events (SIEM) | Read",
)

__all__ = [
    "AUTH_TYPES",
    "POLICY_FIELDS",
    "READ_ONLY_PERMISSIONS",
    "STATUSES",
    "auth_types",
    "cidr_list",
    "domain_name",
    "email_address",
    "inbound_type",
    "permissions",
    "policy_value",
    "status",
]

AUTH_TYPES = ("cloud", "domain")
STATUSES = ("active", "disabled")
INBOUND_TYPES = ("any", "smtp", "ldap", "known")

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_LOCAL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")


def _int(value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"must be at least {minimum}, got {value}")
    return value


def domain_name(value: Any) -> str:
    """A DNS domain name, lower-cased."""
    if not isinstance(value, str) or not _DOMAIN_RE.match(value.strip().lower()):
        raise ValueError(f"not a domain name: {value!r}")
    return value.strip().lower()


def email_address(value: Any) -> str:
    """An e-mail address, lower-cased (Mimecast addresses are case-insensitive)."""
    if isinstance(value, str):
        local, at, domain = value.strip().lower().rpartition("@")
        if at and _LOCAL_RE.match(local) and _DOMAIN_RE.match(domain):
            return f"{local}@{domain}"
    raise ValueError(f"not an email address: {value!r}")


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"expected non-empty strings, got {item!r}")
    return [item.strip() for item in value]


def auth_types(value: Any) -> list[str]:
    """A non-empty subset of ``cloud`` (Basic-Cloud) and ``domain`` (Basic-AD)."""
    items = _str_list(value)
    unknown = [item for item in items if item not in AUTH_TYPES]
    if unknown or not items:
        raise ValueError(f"must be a non-empty list of {list(AUTH_TYPES)}, got {value!r}")
    return sorted(set(items), key=AUTH_TYPES.index)


def permissions(value: Any) -> list[str]:
    """Permission strings ("Account | Dashboard | Read", or "*" for all), duplicates dropped."""
    return list(dict.fromkeys(_str_list(value)))


def cidr_list(value: Any) -> list[str]:
    """CIDR ranges (IPv4 or IPv6) in network form ("10.1.2.3/8" becomes "10.0.0.0/8")."""
    out = []
    for item in _str_list(value):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"not an IP range in CIDR notation: {item!r}") from None
    return out


def status(value: Any) -> str:
    if value not in STATUSES:
        raise ValueError(f"must be one of {list(STATUSES)}, got {value!r}")
    return str(value)


def inbound_type(value: Any) -> str:
    if value not in INBOUND_TYPES:
        raise ValueError(f"must be one of {list(INBOUND_TYPES)}, got {value!r}")
    return str(value)


def _ttl(value: Any) -> int | None:
    return None if value is None else _int(value, 1)


def _function_quotas(value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a table of function path -> {{limit, reset_ms}}, got {value!r}")
    out = {}
    for path, quota in value.items():
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"function path must start with '/', got {path!r}")
        if not isinstance(quota, Mapping) or set(quota) != {"limit", "reset_ms"}:
            raise ValueError(f"{path}: expected exactly the keys limit and reset_ms")
        try:
            out[path] = {"limit": _int(quota["limit"], 1), "reset_ms": _int(quota["reset_ms"], 1)}
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return out


#: account policy column -> validator (0 for lockout_threshold = never lock)
POLICY_FIELDS: Mapping[str, Any] = {
    "lockout_threshold": lambda v: _int(v, 0),
    "lockout_seconds": lambda v: _int(v, 1),
    "binding_ttl_seconds": _ttl,
    "max_bindings_per_user": lambda v: _int(v, 1),
    "quota_limit": lambda v: _int(v, 1),
    "quota_reset_ms": lambda v: _int(v, 1),
    "function_quotas": _function_quotas,
    "permitted_ip_ranges": cidr_list,
}


def policy_value(name: str, value: Any) -> Any:
    """The normalised value of account policy ``name``; ValueError for an unknown name or value."""
    validator = POLICY_FIELDS.get(name)
    if validator is None:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICY_FIELDS)})")
    return validator(value)
