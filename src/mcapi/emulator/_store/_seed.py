"""Seed documents: load a tenant (accounts, domains, applications, users, bindings, policies).

A seed document is a plain dict, usually read from a TOML or JSON file by :func:`load_seed_file`
(the format is described in docs/seed-file.md). :func:`apply_seed` first validates the whole
document (:mod:`._seed_plan`), so that every error of the document is reported, each naming its
place (``accounts[0].users[2].email: not an email address``), before anything is written, then
inserts everything in ONE transaction: a seed that conflicts with the database (an e-mail
address already taken, say) leaves the database as it was.

Passwords in a seed are plaintext and hashed on load; a user without one gets a random password,
reported in the summary. Bindings may carry fixed access/secret keys so that a user can paste
known credentials into another tool. The demo tenant lives in :mod:`._demo`.

An account's ``generate`` table is validated here but not run: the data generator lives above the
store, so :func:`apply_seed` returns the requests in :attr:`SeedSummary.generate` and the emulator's
seed operation (``Emulator.admin.seed``, the admin API's ``POST /_emulator/seed``) runs each one
through its generate operation once the rows are committed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from mcapi.emulator._store import _ops
from mcapi.emulator._store._api2 import Api2Application, new_client_secret
from mcapi.emulator._store._errors import SeedError, StoreError
from mcapi.emulator._store._models import Account, Application, Binding, Domain, User
from mcapi.emulator._store._passwords import hash_password
from mcapi.emulator._store._seed_api2 import insert_api2_plan
from mcapi.emulator._store._seed_plan import AccountPlan, GeneratePlan, kind, validate_seed

if TYPE_CHECKING:
    from mcapi.emulator._store._store import Store

__all__ = ["SeedSummary", "apply_seed", "load_seed_file"]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """What :func:`apply_seed` created, with the generated credentials."""

    accounts: tuple[Account, ...]
    domains: tuple[Domain, ...]
    applications: tuple[Application, ...]
    users: tuple[User, ...]
    bindings: tuple[Binding, ...]
    #: e-mail address -> password, for users the seed gave no password
    generated_passwords: Mapping[str, str] = field(repr=False)
    #: API 2.0 applications (``api2_applications``)
    api2_applications: tuple[Api2Application, ...] = ()
    #: client id -> client secret, for API 2.0 applications the seed gave no secret
    generated_client_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: account code -> the data its ``generate`` table asks for (not yet generated)
    generate: Mapping[str, GeneratePlan] = field(default_factory=dict)
    #: account code -> what the generator wrote (filled in by the operation that ran ``generate``)
    generated: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "accounts": len(self.accounts),
            "domains": len(self.domains),
            "applications": len(self.applications),
            "users": len(self.users),
            "bindings": len(self.bindings),
            "api2_applications": len(self.api2_applications),
        }


def load_seed_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a seed document from a ``.toml`` or ``.json`` file (the suffix decides)."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SeedError(
            str(file), f"unknown seed file type {suffix or '(none)'!r}; use .toml or .json"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(str(file), f"cannot read: {exc}") from None
    try:
        doc = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SeedError(str(file), f"not valid {suffix[1:].upper()}: {exc}") from None
    if not isinstance(doc, dict):
        raise SeedError(str(file), f"the document must be a table/object, not {kind(doc)}")
    return doc


# -- applying ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _at(path: str) -> Iterator[None]:
    """Re-raise the store's complaint about an insert as a SeedError naming the seed path."""
    try:
        yield
    except (StoreError, ValueError) as exc:
        raise SeedError(path, str(exc)) from None


@dataclass
class _Created:
    accounts: list[Account] = field(default_factory=list)
    domains: list[Domain] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)
    api2: list[Api2Application] = field(default_factory=list)


def _apply_account(
    conn: Connection, acc: AccountPlan, hashes: Mapping[str, str], now: float, out: _Created,
    api2_hashes: Sequence[str] = (),
) -> None:  # fmt: skip
    with _at(f"{acc.path}.code"):
        account = _ops.insert_account(
            conn, account_code=acc.code, name=acc.name, region=acc.region, **acc.policy
        )
    out.accounts.append(account)
    for d in acc.domains:
        with _at(d.path):
            out.domains.append(_ops.insert_domain(conn, account.id, d.domain, d.inbound_type, now))
    apps = []
    for a in acc.applications:
        with _at(a.path):
            apps.append(_ops.insert_application(conn, account.id, a.name, a.app_id, a.app_key))
    out.applications.extend(apps)
    by_email = {}
    for u in acc.users:
        with _at(u.path):
            user = _ops.insert_user(
                conn,
                account.id,
                u.email,
                hashes[u.email],
                name=u.name,
                auth_types=u.auth_types,
                permissions=u.permissions,
                status=u.status,
                password_expires_at=now if u.password_expired else u.password_expires_at,
                ip_ranges=u.ip_ranges,
            )
        by_email[user.email] = user
        out.users.append(user)
    for b in acc.bindings:
        with _at(b.path):
            binding = _ops.insert_binding(
                conn,
                by_email[b.email].id,
                apps[b.app_index].app_id,
                now=now,
                ttl_seconds=account.binding_ttl_seconds if b.inherit_ttl else b.ttl_seconds,
                access_key=b.access_key,
                secret_key=b.secret_key,
            )
        out.bindings.append(binding)
    for plan, secret_hash in zip(acc.api2_applications, api2_hashes, strict=True):
        out.api2.append(insert_api2_plan(conn, account.id, plan, secret_hash, now))


def apply_seed(store: Store, doc: Mapping[str, Any], *, now: float) -> SeedSummary:
    """Validate ``doc`` and insert it in one transaction; ``now`` is the emulator clock's time.

    Raises SeedError (nothing written) for an invalid document or one that conflicts with the
    database, e.g. an account code or e-mail address that already exists. ``generate`` tables are
    returned in the summary, not run (see the module docstring)."""
    plan = validate_seed(doc)
    secrets_made: dict[str, str] = {}  # plan path -> generated client secret
    api2_hashes = {
        acc.code: [
            hash_password(
                a.client_secret or secrets_made.setdefault(a.path, new_client_secret()),
                n=store.kdf_n,
            )
            for a in acc.api2_applications
        ]
        for acc in plan
    }
    generated: dict[str, str] = {}
    hashes: dict[str, str] = {}  # hashed before the transaction: scrypt is slow on purpose
    for user in (u for acc in plan for u in acc.users):
        password = user.password
        if password is None:
            password = generated[user.email] = secrets.token_urlsafe(12)
        hashes[user.email] = hash_password(password, n=store.kdf_n)
    out = _Created()
    with store.begin() as conn:
        for acc in plan:
            _apply_account(conn, acc, hashes, now, out, api2_hashes[acc.code])
    paths = [a.path for acc in plan for a in acc.api2_applications]
    return SeedSummary(
        accounts=tuple(out.accounts),
        domains=tuple(out.domains),
        applications=tuple(out.applications),
        users=tuple(out.users),
        bindings=tuple(out.bindings),
        generated_passwords=generated,
        api2_applications=tuple(out.api2),
        generated_client_secrets={
            app.client_id: secrets_made[path]
            for path, app in zip(paths, out.api2, strict=True)
            if path in secrets_made
        },
        generate={acc.code: acc.generate for acc in plan if acc.generate is not None},
    )
