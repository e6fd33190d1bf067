"""The emulator's persistent state, on real databases.

Every store test runs on a SQLite file, on in-memory SQLite and, when MCAPI_TEST_POSTGRES_URL is
set (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), on PostgreSQL in a schema of
its own that is dropped afterwards, so parallel runs do not meet.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from mcapi.emulator._store import (
    READ_ONLY_PERMISSIONS,
    AlreadyExists,
    BindingLimitReached,
    RowNotFound,
    SeedError,
    Store,
    apply_seed,
    demo_seed,
    ensure_demo,
    hash_password,
    load_seed_file,
    metadata,
    verify_password,
)

PG_ENV = "MCAPI_TEST_POSTGRES_URL"
POSTGRES = pytest.param("postgresql", marks=pytest.mark.postgres)
KDF_N = 2**10
NOW = 1_750_000_000.0
DOCS_SEED = Path(__file__).resolve().parents[2] / "docs" / "seed-file.md"
T = TypeVar("T")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: the PostgreSQL variant of this test did not run")
    schema = f"mcapi_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _open(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "sqlite-file":
        url = f"sqlite:///{tmp_path / 'emulator.db'}"
    elif kind == "sqlite-memory":
        url = "sqlite://"
    else:
        url = request.getfixturevalue("pg_url")
    store = Store(url, kdf_n=KDF_N)
    store.create_all()
    return store


@pytest.fixture(params=["sqlite-file", "sqlite-memory", POSTGRES])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = _open(request.param, request, tmp_path)
    yield s
    s.close()


@pytest.fixture(params=["sqlite-file", POSTGRES])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A database several connections (threads standing in for processes) use at once."""
    s = _open(request.param, request, tmp_path)
    yield s
    s.close()


@dataclasses.dataclass
class Tenant:
    account_id: int
    user_id: int
    app_id: str


@pytest.fixture
def tenant(store: Store) -> Tenant:
    return _tenant(store)


def _tenant(store: Store, **policy: Any) -> Tenant:
    account = store.create_account("CUSA10001", "Acme Corp", **policy)
    store.add_domain(account.id, "acme.example", now=NOW)
    user = store.create_user(account.id, "Admin@Acme.example", "s3cret", permissions=["*"])
    app = store.create_application(account.id, "connector")
    return Tenant(account.id, user.id, app.app_id)


def _parallel(n: int, fn: Callable[[int], T]) -> list[T | Exception]:
    """Run fn(0..n-1) on n threads released together; exceptions are returned, not raised."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T | Exception:
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


# -- accounts, domains, users, applications ------------------------------------------------


def test_created_rows_are_found_again_with_platform_defaults(store: Store, tenant: Tenant) -> None:
    account = store.get_account(tenant.account_id)
    assert account is not None
    assert (account.account_code, account.name, account.region) == ("CUSA10001", "Acme Corp", "us")
    assert (account.lockout_threshold, account.lockout_seconds) == (5, 900)
    assert account.binding_ttl_seconds == 259200
    assert (account.max_bindings_per_user, account.quota_limit, account.quota_reset_ms) == (
        2000,
        300,
        1000,
    )
    assert account.permitted_ip_ranges == ()
    assert store.find_account("CUSA10001") == account

    domain = store.find_domain("ACME.Example")
    assert domain is not None
    assert (domain.domain, domain.account_id, domain.inbound_type) == (
        "acme.example",
        account.id,
        "known",
    )
    assert domain.created == NOW
    assert store.find_domain("other.example") is None

    user = store.get_user(tenant.user_id)
    assert user is not None
    assert user.email == "admin@acme.example"
    assert (user.status, user.failed_attempts, user.auth_types) == ("active", 0, ("cloud",))
    assert user.has_permission("Account | Logs | Read")
    assert store.list_users(account.id) == [user]

    app = store.get_application(tenant.app_id)
    assert app is not None
    assert uuid.UUID(app.app_id) and uuid.UUID(app.app_key)
    assert app.app_key not in repr(app)
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.status = "disabled"  # type: ignore[misc]


def test_emails_and_domains_are_case_insensitive_and_unique(store: Store, tenant: Tenant) -> None:
    found = store.find_user("  ADMIN@acme.EXAMPLE ")
    assert found is not None
    assert found.id == tenant.user_id
    with pytest.raises(AlreadyExists, match=r"admin@acme\.example"):
        store.create_user(tenant.account_id, "admin@ACME.example", "x")
    with pytest.raises(AlreadyExists, match=r"acme\.example"):
        store.add_domain(tenant.account_id, "Acme.Example", now=NOW)
    with pytest.raises(ValueError, match="not an email address"):
        store.create_user(tenant.account_id, "no-at-sign", "x")


def test_passwords_are_salted_scrypt_hashes(store: Store, tenant: Tenant) -> None:
    user = store.get_user(tenant.user_id)
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith(f"scrypt${KDF_N}$8$1$")
    assert "s3cret" not in user.password_hash and "s3cret" not in repr(user)
    assert store.check_password(user, "s3cret")
    assert not store.check_password(user, "S3cret")
    assert not store.check_password(None, "s3cret")
    assert hash_password("same", n=KDF_N) != hash_password("same", n=KDF_N)
    assert not verify_password("md5$abc", "same")


def test_account_policy_updates_are_validated(store: Store, tenant: Tenant) -> None:
    account = store.update_account_policy(
        tenant.account_id,
        binding_ttl_seconds=None,
        permitted_ip_ranges=["10.1.2.3/8", "2001:db8::/32"],
        function_quotas={"/api/audit/get-siem-logs": {"limit": 10, "reset_ms": 60000}},
    )
    assert account.binding_ttl_seconds is None
    assert account.permitted_ip_ranges == ("10.0.0.0/8", "2001:db8::/32")
    assert account.quota_for("/api/audit/get-siem-logs").limit == 10
    assert account.quota_for("/api/account/get-account").limit == 300
    assert store.get_account(tenant.account_id) == account
    with pytest.raises(ValueError, match="unknown policy 'quota'"):
        store.update_account_policy(tenant.account_id, quota=5)
    with pytest.raises(ValueError, match="CIDR"):
        store.update_account_policy(tenant.account_id, permitted_ip_ranges=["10.0.0.300/8"])
    with pytest.raises(RowNotFound):
        store.update_account_policy(999_999, quota_limit=5)


# -- bindings -------------------------------------------------------------------------------


def test_auth_context_joins_binding_user_account_and_application(
    store: Store, tenant: Tenant
) -> None:
    binding = store.create_binding(tenant.user_id, tenant.app_id, now=NOW, ttl_seconds=600)
    assert len(base64.b64decode(binding.secret_key, validate=True)) >= 32
    assert binding.secret_key not in repr(binding)
    ctx = store.auth_context(binding.access_key)
    assert ctx is not None
    assert ctx.binding == binding
    assert ctx.binding.expires_at == NOW + 600
    assert ctx.user.email == "admin@acme.example"
    assert ctx.account.account_code == "CUSA10001"
    assert ctx.application.app_id == tenant.app_id
    assert store.auth_context("no-such-access-key") is None

    store.revoke_binding(binding.access_key, "admin")
    ctx = store.auth_context(binding.access_key)
    assert ctx is not None and ctx.binding.revoked and ctx.binding.revoked_reason == "admin"
    assert store.delete_binding(binding.access_key)
    assert store.auth_context(binding.access_key) is None
    assert not store.delete_binding(binding.access_key)


def test_binding_limit_counts_live_bindings(store: Store) -> None:
    t = _tenant(store, max_bindings_per_user=3)
    made = [store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=60) for _ in range(3)]
    with pytest.raises(BindingLimitReached) as caught:
        store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=60)
    assert caught.value.limit == 3
    store.revoke_binding(made[0].access_key, "admin")
    store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=60)
    store.delete_binding(made[1].access_key)
    store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=60)
    with pytest.raises(BindingLimitReached):
        store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=60)


def test_binding_limit_holds_under_concurrent_logins(shared_store: Store) -> None:
    t = _tenant(shared_store, max_bindings_per_user=3)
    results = _parallel(
        20, lambda _: shared_store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=60)
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, BindingLimitReached) for r in results if isinstance(r, Exception))
    assert len(shared_store.list_bindings(t.user_id)) == 3


def test_refresh_extends_the_same_binding(store: Store, tenant: Tenant) -> None:
    binding = store.create_binding(tenant.user_id, tenant.app_id, now=NOW, ttl_seconds=60)
    assert binding.expired(NOW + 60)
    later = NOW + 3600
    refreshed = store.refresh_binding(
        binding.access_key, now=later, ttl_seconds=60, user_id=tenant.user_id
    )
    assert (refreshed.access_key, refreshed.secret_key) == (binding.access_key, binding.secret_key)
    assert refreshed.expires_at == later + 60 and not refreshed.expired(later)
    forever = store.refresh_binding(binding.access_key, now=later, ttl_seconds=None)
    assert forever.expires_at is None and forever.ttl_seconds(later) is None

    other = store.create_user(tenant.account_id, "eve@acme.example", "x")
    with pytest.raises(RowNotFound):
        store.refresh_binding(binding.access_key, now=later, ttl_seconds=60, user_id=other.id)
    store.revoke_bindings(tenant.user_id, "admin")
    with pytest.raises(RowNotFound):
        store.refresh_binding(binding.access_key, now=later, ttl_seconds=60)
    with pytest.raises(RowNotFound):
        store.refresh_binding("unknown-access-key", now=later, ttl_seconds=60)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s, uid: s.set_password(uid, "new password"), "password change"),
        (lambda s, uid: s.set_permissions(uid, ["Account | Logs | Read"]), "permission change"),
        (lambda s, uid: s.set_user_status(uid, "disabled"), "account disabled"),
    ],
    ids=["password", "permissions", "disabled"],
)
def test_security_changes_revoke_the_users_bindings(
    store: Store, tenant: Tenant, change: Callable[[Store, int], Any], reason: str
) -> None:
    keys = [
        store.create_binding(tenant.user_id, tenant.app_id, now=NOW, ttl_seconds=None).access_key
        for _ in range(2)
    ]
    change(store, tenant.user_id)
    for key in keys:
        ctx = store.auth_context(key)
        assert ctx is not None
        assert (ctx.binding.revoked, ctx.binding.revoked_reason) == (True, reason)
    fresh = store.create_binding(tenant.user_id, tenant.app_id, now=NOW, ttl_seconds=None)
    assert not fresh.revoked


def test_user_admin_operations(store: Store, tenant: Tenant) -> None:
    key = store.create_binding(tenant.user_id, tenant.app_id, now=NOW, ttl_seconds=None).access_key
    user = store.set_ip_ranges(tenant.user_id, ["192.0.2.0/24"])
    assert user.ip_ranges == ("192.0.2.0/24",)
    account = store.get_account(tenant.account_id)
    assert account is not None and user.effective_ip_ranges(account) == ("192.0.2.0/24",)
    assert store.set_ip_ranges(tenant.user_id, None).ip_ranges is None
    assert store.expire_password(tenant.user_id, NOW).password_expired(NOW)
    user = store.set_password(tenant.user_id, "fresh")
    assert not user.password_expired(NOW) and store.check_password(user, "fresh")
    assert store.lock_user(tenant.user_id, NOW + 60).locked(NOW)
    assert not store.unlock_user(tenant.user_id).locked(NOW)
    assert not store.set_ip_ranges(tenant.user_id, []).disabled
    ctx = store.auth_context(key)
    assert ctx is not None and ctx.binding.revoked_reason == "password change"
    with pytest.raises(RowNotFound):
        store.set_permissions(999_999, ["*"])


# -- lockout --------------------------------------------------------------------------------


def test_lockout_counter_is_atomic_under_50_concurrent_failures(shared_store: Store) -> None:
    t = _tenant(shared_store)
    # Each thread brings its own "now", so the lock time shows which failure set it.
    results = _parallel(
        50,
        lambda i: shared_store.record_failed_login(
            t.user_id, now=NOW + i, threshold=5, lock_seconds=900
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    counts = sorted(r[0] for r in results if not isinstance(r, Exception))
    assert counts == list(range(1, 51))
    locks = {r[1] for r in results if not isinstance(r, Exception) and r[0] >= 5}
    assert len(locks) == 1  # set once, by the 5th failure, never extended
    assert all(r[1] is None for r in results if not isinstance(r, Exception) and r[0] < 5)
    user = shared_store.get_user(t.user_id)
    assert user is not None
    assert user.failed_attempts == 50
    assert user.locked_until == locks.pop()
    assert user.locked(NOW + 49) and not user.locked(NOW + 50 + 900)


def test_lockout_lapses_restarts_the_count_and_can_be_lifted(store: Store, tenant: Tenant) -> None:
    uid = tenant.user_id
    for expected in (1, 2):
        assert store.record_failed_login(uid, now=NOW, threshold=3, lock_seconds=60) == (
            expected,
            None,
        )
    assert store.record_failed_login(uid, now=NOW, threshold=3, lock_seconds=60) == (3, NOW + 60)
    assert store.record_failed_login(uid, now=NOW + 30, threshold=3, lock_seconds=60) == (
        4,
        NOW + 60,
    )
    # the lock lapsed: a new count starts
    assert store.record_failed_login(uid, now=NOW + 61, threshold=3, lock_seconds=60) == (1, None)
    store.clear_failed_logins(uid)
    user = store.get_user(uid)
    assert user is not None and user.failed_attempts == 0
    store.record_failed_login(uid, now=NOW, threshold=1, lock_seconds=60)
    user = store.unlock_user(uid)
    assert (user.failed_attempts, user.locked_until) == (0, None)
    for _ in range(10):
        _, locked_until = store.record_failed_login(uid, now=NOW, threshold=0, lock_seconds=60)
    assert locked_until is None


# -- whole-store operations -----------------------------------------------------------------


def test_reset_empties_every_table_and_keeps_them_usable(store: Store, tenant: Tenant) -> None:
    store.create_binding(tenant.user_id, tenant.app_id, now=NOW, ttl_seconds=None)
    store.set_setting("x", {"y": 1})
    store.reset()
    with store.connect() as conn:
        for table in metadata.sorted_tables:
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
    assert store.find_user("admin@acme.example") is None and store.get_setting("x") is None
    _tenant(store)


def test_in_memory_store_is_shared_by_threads() -> None:
    store = Store("sqlite://", kdf_n=KDF_N)
    store.create_all()
    t = _tenant(store, max_bindings_per_user=10)
    results = _parallel(
        16,
        lambda _: store.auth_context(
            store.create_binding(t.user_id, t.app_id, now=NOW, ttl_seconds=None).access_key
        ),
    )
    assert sum(r is not None and not isinstance(r, Exception) for r in results) == 10
    assert all(isinstance(r, BindingLimitReached) for r in results if isinstance(r, Exception))
    store.close()


# -- seeds ----------------------------------------------------------------------------------


def _doc_block(language: str) -> str:
    match = re.search(rf"```{language}\n(.*?)```", DOCS_SEED.read_text(encoding="utf-8"), re.S)
    assert match, f"docs/seed-file.md has no {language} example"
    return match.group(1)


def _summary_view(store: Store) -> dict[str, Any]:
    """What a seed produced, without generated values."""
    account = store.find_account("CUSA10001")
    assert account is not None
    users = store.list_users(account.id)
    return {
        "account": dataclasses.replace(account, id=0),
        "domains": [(d.domain, d.inbound_type) for d in store.list_domains(account.id)],
        "apps": [(a.name, a.app_id, a.app_key) for a in store.list_applications(account.id)],
        "users": [
            (
                u.email,
                u.name,
                u.auth_types,
                u.permissions,
                u.status,
                u.password_expires_at,
                u.ip_ranges,
            )
            for u in users
        ],
        "bindings": sorted(
            (b.access_key if b.access_key.startswith("acme") else "?", b.expires_at)
            for u in users
            for b in store.list_bindings(u.id)
        ),
    }


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_documented_seed_examples_load_the_same_tenant(
    store: Store, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"seed{suffix}"
    path.write_text(_doc_block(suffix[1:]), encoding="utf-8")
    summary = apply_seed(store, load_seed_file(path), now=NOW)
    assert summary.counts() == {
        "accounts": 1,
        "domains": 2,
        "applications": 1,
        "users": 3,
        "bindings": 2,
        "api2_applications": 0,
    }
    assert summary.generated_passwords == {}
    view = _summary_view(store)
    assert view["bindings"] == [("?", NOW + 3600), ("acme-admin-access-key-0001", None)]
    assert view["users"][2][4:6] == ("disabled", NOW)
    assert view["account"].quota_for("/api/audit/get-siem-logs").reset_ms == 60000
    admin = store.find_user("admin@acme.example")
    assert store.check_password(admin, "correct horse battery")
    ctx = store.auth_context("acme-admin-access-key-0001")
    assert ctx is not None and ctx.binding.secret_key == "c2VjcmV0LWtleS1mb3ItdGhlLWFjbWUtYWRtaW4="


def test_toml_and_json_examples_are_equivalent(tmp_path: Path) -> None:
    views = []
    for suffix in ("toml", "json"):
        path = tmp_path / f"seed.{suffix}"
        path.write_text(_doc_block(suffix), encoding="utf-8")
        s = Store(f"sqlite:///{tmp_path / suffix}.db", kdf_n=KDF_N)
        s.create_all()
        apply_seed(s, load_seed_file(path), now=NOW)
        views.append(_summary_view(s))
        s.close()
    assert views[0] == views[1]


def _seed(**account: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "CUSA1",
        "name": "A",
        "domains": ["a.example"],
        "applications": [{"name": "app"}],
        "users": [{"email": "u@a.example", "password": "pw"}],
    }
    base.update(account)
    return {"accounts": [base]}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"acounts": []}, "acounts: unknown key"),
        ([], "seed: expected a table/object, got a list"),
        ({"version": 2, "accounts": []}, "version: unsupported seed version 2"),
        (_seed(code=""), "accounts[0].code: expected a non-empty string"),
        (
            _seed(users=[{"email": "u@a.example"}, {"email": "x@a.example"}, {"email": "bob"}]),
            "accounts[0].users[2].email: not an email address",
        ),
        (
            _seed(users=[{"email": "U@a.example"}, {"email": "u@A.example"}]),
            "accounts[0].users[1].email: e-mail address 'u@a.example' also at accounts[0].users[0]",
        ),
        (_seed(users=[{"email": "u@a.example", "status": "gone"}]), "accounts[0].users[0].status"),
        (
            _seed(users=[{"email": "u@a.example", "auth_types": ["saml"]}]),
            "accounts[0].users[0].auth_types: must be a non-empty list",
        ),
        (_seed(domains=["not a domain"]), "accounts[0].domains[0].domain: not a domain name"),
        (_seed(policy={"quota_limt": 1}), "accounts[0].policy.quota_limt: unknown key"),
        (_seed(policy={"quota_limit": 0}), "accounts[0].policy.quota_limit: must be at least 1"),
        (
            _seed(policy={"function_quotas": {"/api/x": {"limit": 1}}}),
            "accounts[0].policy.function_quotas: /api/x: expected exactly the keys",
        ),
        (
            _seed(bindings=[{"user": "nobody@a.example"}]),
            "accounts[0].bindings[0].user: no user 'nobody@a.example'",
        ),
        (
            _seed(bindings=[{"user": "u@a.example", "secret_key": "not base64!"}]),
            "accounts[0].bindings[0].secret_key: must be base64",
        ),
        (
            _seed(bindings=[{"user": "u@a.example", "access_key": "has:colon"}]),
            "accounts[0].bindings[0].access_key",
        ),
        (
            _seed(
                applications=[{"name": "a"}, {"name": "b"}],
                bindings=[{"user": "u@a.example"}],
            ),
            "accounts[0].bindings[0].application: required: the account has 2 applications",
        ),
    ],
)
def test_invalid_seeds_name_the_offending_path(store: Store, doc: Any, message: str) -> None:
    with pytest.raises(SeedError) as caught:
        apply_seed(store, doc, now=NOW)
    assert str(caught.value).startswith(message), str(caught.value)
    assert store.list_accounts() == []


def test_a_seed_that_clashes_with_the_database_writes_nothing(store: Store) -> None:
    apply_seed(store, _seed(), now=NOW)
    clash = _seed(code="CUSA2", domains=["b.example"])
    with pytest.raises(SeedError, match=r"accounts\[0\]\.users\[0\]: user u@a\.example already"):
        apply_seed(store, clash, now=NOW)
    assert [a.account_code for a in store.list_accounts()] == ["CUSA1"]
    assert store.find_domain("b.example") is None


def test_seed_generates_missing_credentials(store: Store) -> None:
    doc = _seed(
        users=[{"email": "u@a.example"}],
        bindings=[{"user": "u@a.example"}],
        policy={"binding_ttl_seconds": "never"},
    )
    summary = apply_seed(store, doc, now=NOW)
    password = summary.generated_passwords["u@a.example"]
    assert store.check_password(store.find_user("u@a.example"), password)
    assert password not in repr(summary)
    (binding,) = summary.bindings
    assert binding.expires_at is None and binding.app_id == summary.applications[0].app_id


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("seed.toml", "accounts = [\n  {code = }\n", r"seed\.toml: not valid TOML: "),
        ("seed.json", '{"accounts": [}', r"seed\.json: not valid JSON: "),
        ("seed.json", "[1, 2]", r"seed\.json: the document must be a table/object"),
        ("deep.toml", "a = " + "[" * 5000 + "]" * 5000, r"deep\.toml: not valid TOML: "),
        ("deep.json", "[" * 100_000 + "]" * 100_000, r"deep\.json: not valid JSON: "),
        ("seed.yaml", "accounts: []", r"seed\.yaml: unknown seed file type '\.yaml'"),
        ("missing.toml", None, r"missing\.toml: cannot read: "),
    ],
)
def test_bad_seed_files_are_named_in_the_error(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SeedError, match=message) as caught:
        load_seed_file(path)
    assert str(path) in str(caught.value)


# -- the demo tenant -----------------------------------------------------------------------


def test_demo_seed_describes_the_demo_tenant() -> None:
    (account,) = demo_seed(lambda: "pw")["accounts"]
    assert (account["code"], account["name"], account["region"]) == ("CUSA12345", "Demo Corp", "us")
    users = {u["email"]: u for u in account["users"]}
    assert users["admin@demo.example"]["permissions"] == ["*"]
    assert users["reader@demo.example"]["permissions"] == list(READ_ONLY_PERMISSIONS)
    assert all(p.endswith("Read") or "View" in p for p in READ_ONLY_PERMISSIONS)
    assert users["former@demo.example"]["status"] == "disabled"
    assert json.loads(json.dumps(account)) == account


def test_ensure_demo_is_idempotent_across_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first_store = Store(url, kdf_n=KDF_N)
    first_store.create_all()
    first = ensure_demo(first_store, now=NOW)
    first_store.close()
    assert first.created and first.admin_email == "admin@demo.example"
    assert first.admin_password and first.secret_key not in repr(first)

    store = Store(url, kdf_n=KDF_N)  # a restart on the same database file
    store.create_all()
    again = ensure_demo(store, now=NOW + 86400 * 30)
    assert not again.created
    assert dataclasses.replace(again, created=True) == first
    assert len(store.list_accounts()) == 1

    ctx = store.auth_context(again.access_key)
    assert ctx is not None and ctx.binding.expires_at is None and not ctx.binding.revoked
    assert ctx.application.app_key == again.app_key and ctx.user.has_permission("anything")
    assert store.check_password(ctx.user, first.admin_password)
    reader = store.find_user("reader@demo.example")
    assert reader is not None and store.check_password(reader, first.passwords[reader.email])
    former = store.find_user("former@demo.example")
    assert former is not None and former.disabled

    store.revoke_bindings(ctx.user.id, "admin")
    renewed = ensure_demo(store, now=NOW)
    assert renewed.access_key != first.access_key and renewed.app_id == first.app_id
    store.set_password(ctx.user.id, "changed by the user")
    assert ensure_demo(store, now=NOW).admin_password is None
    store.close()


@pytest.mark.postgres
def test_ensure_demo_on_postgres(pg_url: str) -> None:
    store = Store(pg_url, kdf_n=KDF_N)
    store.create_all()
    first = ensure_demo(store, now=NOW)
    assert ensure_demo(store, now=NOW).access_key == first.access_key
    store.close()


def test_read_cache_sees_changes_made_by_another_connection(tmp_path: Path) -> None:
    """Two stores on one SQLite file (two processes of one deployment): a revocation made by
    one is seen by the other's cached auth context at once."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writer, reader = Store(url, kdf_n=2**10), Store(url, kdf_n=2**10)
    assert reader.watch_interval <= 0.001  # another process's change shows within a millisecond
    reader.watch_interval = 0  # ...and here at once, without waiting for it
    writer.create_all()
    account = writer.create_account("CUSA1", "A")
    user = writer.create_user(account.id, "a@a.example", "pw", permissions=["*"])
    app = writer.create_application(account.id, "app")
    binding = writer.create_binding(user.id, app.app_id, now=0.0, ttl_seconds=None)
    first = reader.auth_context(binding.access_key)
    assert first is not None
    assert not first.binding.revoked
    assert reader.auth_context(binding.access_key) is first  # served from the cache
    writer.revoke_bindings(user.id, "test")
    again = reader.auth_context(binding.access_key)
    assert again is not None
    assert again.binding.revoked
    writer.close()
    reader.close()


def test_read_cache_sees_this_stores_own_writes() -> None:
    store = Store("sqlite://", kdf_n=2**10)
    store.create_all()
    account = store.create_account("CUSA1", "A")
    user = store.create_user(account.id, "a@a.example", "pw")
    app = store.create_application(account.id, "app")
    binding = store.create_binding(user.id, app.app_id, now=0.0, ttl_seconds=None)
    assert store.auth_context(binding.access_key) is not None
    store.lock_user(user.id, 100.0)
    context = store.auth_context(binding.access_key)
    assert context is not None
    assert context.user.locked_until == 100.0
    store.delete_binding(binding.access_key)
    assert store.auth_context(binding.access_key) is None


def test_access_keys_never_start_with_a_dash() -> None:
    # a key is an argument of `mcapi emulator expire-binding KEY`: a leading `-` reads as an option
    from mcapi.emulator._store._ops import new_access_key

    assert not any(new_access_key().startswith("-") for _ in range(2000))


def test_one_run_reports_every_problem_of_a_seed(store: Store) -> None:
    doc = _seed(
        users=[
            {"email": "u@a.example", "password": "pw"},
            {"email": "bob", "status": "asleep"},  # two mistakes in one user
        ],
        policy={"quota_limt": 5},  # a typo
        bindings=[{"user": "u@a.example", "ttl_seconds": 0}],
    )
    doc["accounts"].append({"code": "CUSA2"})  # name missing
    with pytest.raises(SeedError) as caught:
        apply_seed(store, doc, now=NOW)
    fields = [p.field for p in caught.value.problems]
    assert sorted(fields) == sorted(
        [
            "accounts[0].policy.quota_limt",
            "accounts[0].users[1].email",
            "accounts[0].users[1].status",
            "accounts[0].bindings[0].ttl_seconds",
            "accounts[1].name",
        ]
    )
    by_field = {p.field: p.message for p in caught.value.problems}
    assert by_field["accounts[0].users[1].email"].startswith("not an email address")
    assert by_field["accounts[1].name"] == "required"
    assert "accounts[0].policy.quota_limt: unknown key" in str(caught.value)
    assert store.list_accounts() == []
