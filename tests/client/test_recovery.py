"""Refresh, re-login, and the codes that are never retried - proved by the emulator's journal."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mcapi._codes import Action, CodeEntry, catalogue
from mcapi._errors import ApiError, BindingExpired, Forbidden, Unauthorized, error_class_for
from mcapi.client import AttemptEvent

from .conftest import ACCOUNT, LOGIN, Harness

pytestmark = pytest.mark.anyio

PERMIT = "/api/managedsender/permit-or-block-sender"
NEVER_RETRIED = [
    e
    for e in catalogue().entries
    if e.status != 200 and e.action in (Action.STOP, Action.FORBIDDEN, Action.CALLER)
]


def statuses(harness: Harness, path: str) -> list[tuple[int, str | None]]:
    return [(e.status, e.sub_code) for e in harness.journal(path)]


async def test_expired_binding_is_refreshed_once_then_the_call_retried(harness: Harness) -> None:
    harness.policy(binding_ttl_seconds=60)
    client = await harness.login()
    key = client.credentials.access_key
    harness.emu.clock.advance(120)
    result = await client.call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert statuses(harness, ACCOUNT) == [(418, "0001"), (200, None)]
    assert statuses(harness, LOGIN) == [(200, None), (200, None)]  # login, one refresh
    assert client.credentials.access_key == key  # a refresh extends the same binding
    assert harness.outcomes(ACCOUNT) == ["refresh", "ok"]
    assert client.credentials.expires_at == pytest.approx(harness.emu.clock.now() + 60)


async def test_expired_binding_without_password_raises_with_the_remedy(harness: Harness) -> None:
    harness.policy(binding_ttl_seconds=60)
    client = await harness.login(keep_password=False)
    harness.emu.clock.advance(120)
    with pytest.raises(BindingExpired) as info:
        await client.call(ACCOUNT)
    assert info.value.sub_code == "0001" and info.value.attempts == 1
    assert "holds no password" in str(info.value) and "Refresh the binding" in str(info.value)
    assert statuses(harness, ACCOUNT) == [(418, "0001")]
    assert len(harness.journal(LOGIN)) == 1  # the original login only


async def test_a_second_418_after_refreshing_is_raised(harness: Harness) -> None:
    client = await harness.login()
    harness.fault(
        {"match": {"path": ACCOUNT, "times": 2}, "effect": {"status": 418, "sub_code": "0001"}}
    )
    with pytest.raises(BindingExpired) as info:
        await client.call(ACCOUNT)
    assert info.value.attempts == 2
    assert statuses(harness, ACCOUNT) == [(418, "0001"), (418, "0001")]
    assert len(harness.journal(LOGIN)) == 2  # login + exactly one refresh


async def test_unrefreshable_binding_falls_back_to_a_fresh_login(harness: Harness) -> None:
    harness.policy(binding_ttl_seconds=60)
    holder: dict[str, Any] = {}

    def drop_binding(event: AttemptEvent) -> None:
        harness.events.append(event)
        if event.outcome == "refresh":  # the binding disappears before the refresh arrives
            harness.emu.store.delete_binding(holder["key"])

    client = await harness.login(event_hook=drop_binding)
    holder["key"] = old = client.credentials.access_key
    harness.emu.clock.advance(120)
    assert (await client.call(ACCOUNT)).ok
    assert statuses(harness, LOGIN) == [(200, None), (401, "0008"), (200, None)]
    assert client.credentials.access_key != old


@pytest.mark.parametrize("how", ["revoke", "logout"])
async def test_revoked_or_unknown_binding_logs_in_afresh_once(harness: Harness, how: str) -> None:
    client = await harness.login()
    old = client.credentials.access_key
    if how == "revoke":
        harness.emu.store.revoke_binding(old, "administrator")
        expected = (401, "0012")
    else:
        harness.emu.store.delete_binding(old)
        expected = (401, "0013")
    result = await client.call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert statuses(harness, ACCOUNT) == [expected, (200, None)]
    assert len(harness.journal(LOGIN)) == 2
    assert client.credentials.access_key != old
    assert harness.outcomes(ACCOUNT) == ["relogin", "ok"]


async def test_revoked_binding_without_password_raises(harness: Harness) -> None:
    harness.emu.store.revoke_binding(harness.demo.access_key, "administrator")
    with pytest.raises(Unauthorized) as info:
        await harness.client().call(ACCOUNT)
    assert info.value.sub_code == "0012" and "holds no password" in str(info.value)
    assert statuses(harness, ACCOUNT) == [(401, "0012")]


async def test_concurrent_callers_share_one_failed_relogin(harness: Harness) -> None:
    """The password changed: the binding is revoked and re-login fails. Eight concurrent calls
    must send the stale password once, not eight times (that would lock the account)."""
    client = await harness.login()
    user = harness.emu.store.find_user(harness.demo.admin_email)
    assert user is not None
    harness.emu.store.set_password(user.id, "a-brand-new-password-1")
    results = await asyncio.gather(
        *(client.call(ACCOUNT) for _ in range(8)), return_exceptions=True
    )
    assert all(isinstance(r, Unauthorized) and r.sub_code == "0003" for r in results), results
    assert statuses(harness, LOGIN) == [(200, None), (401, "0003")]


async def test_wrong_password_is_never_retried_and_lockout_is_reported(harness: Harness) -> None:
    for attempt in range(1, 7):
        with pytest.raises(Unauthorized) as info:
            await harness.login(password="not-the-password")
        assert info.value.attempts == 1
        assert len(harness.journal(LOGIN)) == attempt  # one request per login, never more
    assert info.value.sub_code == "0010"
    assert "locked" in str(info.value).lower()


async def test_disabled_user_cannot_log_in(harness: Harness) -> None:
    with pytest.raises(Unauthorized) as info:
        await harness.login(harness.demo.disabled_email)
    assert info.value.sub_code == "0011"
    assert len(harness.journal(LOGIN)) == 1


async def test_bad_signature_is_sent_exactly_once(harness: Harness) -> None:
    client = harness.client(secret_key="d3Jvbmcta2V5LXdyb25nLWtleQ==")
    with pytest.raises(Unauthorized) as info:
        await client.call(ACCOUNT)
    assert info.value.sub_code == "0004" and info.value.attempts == 1
    [entry] = harness.journal(ACCOUNT)
    assert entry.check and "signature" in entry.check
    assert harness.outcomes() == ["raise"]


async def test_missing_permission_is_raised_with_the_remedy(harness: Harness) -> None:
    client = await harness.login(harness.demo.reader_email)
    item = {"sender": "x@example.com", "to": "reader@demo.example", "action": "block"}
    with pytest.raises(Forbidden) as info:
        await client.call(PERMIT, [item])
    assert info.value.sub_code == "0002"
    assert info.value.remedy and info.value.remedy in str(info.value)
    assert statuses(harness, PERMIT) == [(403, "0002")]


@pytest.mark.parametrize("entry", NEVER_RETRIED, ids=lambda e: f"{e.label}-{e.body_code}")
async def test_codes_that_are_never_retried(harness: Harness, entry: CodeEntry) -> None:
    """Each stop / forbidden / caller answer reaches the client once and is raised as its
    status class, with the catalogue's entry - even for a read-only function and a client that
    holds a password."""
    client = await harness.login()
    effect: dict[str, Any] = {"status": entry.status}
    if entry.sub_code:
        effect["sub_code"] = entry.sub_code
    if entry.body_code:
        effect["body_code"] = entry.body_code
    harness.fault({"match": {"path": ACCOUNT}, "effect": effect})
    with pytest.raises(ApiError) as info:
        await client.call(ACCOUNT)
    error = info.value
    assert type(error) is error_class_for(entry.status)
    assert error.entry == entry and error.attempts == 1
    assert len(harness.journal(ACCOUNT)) == 1
    assert len(harness.journal(LOGIN)) == 1
    assert harness.sleeps == []


async def test_refresh_on_demand_extends_the_binding(harness: Harness) -> None:
    harness.policy(binding_ttl_seconds=600)
    client = await harness.login()
    key = client.credentials.access_key
    harness.emu.clock.advance(500)
    await client.refresh()
    assert client.credentials.access_key == key
    assert client.credentials.expires_at == pytest.approx(harness.emu.clock.now() + 600)
    harness.emu.clock.advance(500)  # past the first expiry, not the refreshed one
    assert (await client.call(ACCOUNT)).attempts == 1
    assert len(harness.journal(LOGIN)) == 2


@pytest.mark.parametrize(
    "entry",
    [e for e in catalogue().entries if e.action is Action.RELOGIN],
    ids=lambda e: e.label,
)
async def test_each_relogin_code_logs_in_afresh_once(harness: Harness, entry: CodeEntry) -> None:
    client = await harness.login()
    old = client.credentials.access_key
    effect = {"status": entry.status, "sub_code": entry.sub_code}
    harness.fault({"match": {"path": ACCOUNT, "times": 1}, "effect": effect})
    result = await client.call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert statuses(harness, ACCOUNT) == [(entry.status, entry.sub_code), (200, None)]
    assert len(harness.journal(LOGIN)) == 2  # the first login, then exactly one more
    assert client.credentials.access_key != old
