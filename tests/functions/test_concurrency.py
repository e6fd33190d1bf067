"""Two calls racing on the same thing: the database decides, exactly one wins.

Every function that reads then writes (release a held message, register a domain, add a group
member...) is fired twice at the same instant, from two threads, each with its own event loop and
HTTP client, against one emulator on a database file (and on PostgreSQL when
``MCAPI_TEST_POSTGRES_URL`` is set, in a schema of its own). Whatever the interleaving, one call
succeeds and the other gets the answer a second call would get (409, or a ``fail`` entry).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials
from mcapi.emulator._data import audit_events, groups, held_messages, managed_senders
from mcapi.emulator._store import Account

ROUNDS = 6
Item = dict[str, Any]


@pytest.fixture
def db_url(shared_db_url: str) -> str:
    return shared_db_url


@dataclass
class Tenant:
    emu: Emulator
    creds: EmulatorCredentials
    account: Account


@pytest.fixture
def tenant(db_url: str) -> Iterator[Tenant]:
    # signed with the emulator clock, which the tests move (tests/fidelity: wall clock)
    emu = Emulator(db_url, kdf_n=2**10, config=EmulatorConfig(skew_reference="either"))
    creds = emu.load_demo()
    account = emu.store.find_account(creds.account_code)
    assert account is not None
    emu.store.update_account_policy(
        account.id, quota_limit=1_000_000, quota_reset_ms=1, function_quotas={}
    )
    yield Tenant(emu, creds, account)
    emu.close()


Answer = tuple[int, dict[str, Any]]


Call = tuple[str, list[Item]]


def race(
    tenant: Tenant, calls: list[Call], others: list[Call] | None = None
) -> list[tuple[Answer, Answer]]:
    """Thread 0 sends ``calls`` and thread 1 ``others`` (default: the same calls), each pair at
    the same instant, from two event loops; the two answers of each pair."""
    sends = [calls, calls if others is None else others]
    assert len(sends[0]) == len(sends[1])
    barrier = threading.Barrier(2, timeout=30)
    answers: list[list[Answer]] = [[], []]
    creds, emu = tenant.creds, tenant.emu

    async def drive(index: int) -> None:
        transport = httpx.ASGITransport(app=cast(Any, emu.app))
        async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
            for path, data in sends[index]:
                headers = signed_headers(
                    access_key=creds.access_key, secret_key=creds.secret_key,
                    app_id=creds.app_id, app_key=creds.app_key, path=path,
                    date=format_date(emu.clock.now()), request_id=new_request_id(),
                )  # fmt: skip
                barrier.wait()  # both threads send their call now
                response = await http.post(path, json={"data": data}, headers=headers)
                answers[index].append((response.status_code, response.json()))

    def thread(index: int) -> None:
        try:
            asyncio.run(drive(index))
        except BaseException:
            barrier.abort()
            raise

    threads = [threading.Thread(target=thread, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(len(a) == len(calls) for a in answers), "a thread did not finish its calls"
    return list(zip(answers[0], answers[1], strict=True))


def kind(answer: Answer) -> str:
    """``ok``, ``fail <code>`` (HTTP 200 with a failed item) or ``<status> <code>``."""
    status, body = answer
    if status == 200 and not body["fail"]:
        return "ok"
    code = body["fail"][0]["errors"][0]["code"]
    return f"fail {code}" if status == 200 else f"{status} {code}"


def assert_one_wins(pairs: list[tuple[Answer, Answer]], loser: str) -> list[Answer]:
    """Each pair: one ``ok`` and one ``loser``; the winning answers."""
    winners = []
    for first, second in pairs:
        assert Counter([kind(first), kind(second)]) == {"ok": 1, loser: 1}, (first, second)
        winners.append(first if kind(first) == "ok" else second)
    return winners


def audited(tenant: Tenant, audit_type: str) -> int:
    with tenant.emu.store.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(audit_events.c.audit_type == audit_type)
            ).scalar_one()
        )


def held(tenant: Tenant, count: int) -> list[str]:
    """``count`` messages on hold in the demo account."""
    ids = [f"held-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    now = tenant.emu.clock.now()
    with tenant.emu.store.begin() as conn:
        conn.execute(held_messages.insert(), [
            {"id": i, "account_id": tenant.account.id, "message_id": None, "received": now - n,
             "sender": "spam@outside.example", "sender_name": "", "recipient": "a@demo.example",
             "subject": "Win", "reason": "Spam Signature", "reason_code": "spam_signature",
             "route": "inbound", "size": 100, "status": "held"}
            for n, i in enumerate(ids)
        ])  # fmt: skip
    return ids


def held_status(tenant: Tenant, held_id: str) -> str:
    with tenant.emu.store.connect() as conn:
        return str(
            conn.execute(
                sa.select(held_messages.c.status).where(held_messages.c.id == held_id)
            ).scalar_one()
        )


RELEASE, REJECT = "/api/gateway/hold-release", "/api/gateway/hold-reject"


def test_two_releases_of_one_message_one_succeeds_the_other_is_409(tenant: Tenant) -> None:
    ids = held(tenant, ROUNDS)
    pairs = race(tenant, [(RELEASE, [{"id": i}]) for i in ids])
    winners = assert_one_wins(pairs, "409 err_hold_already_processed")
    assert [w[1]["data"] for w in winners] == [[{"id": i, "release": True}] for i in ids]
    assert {held_status(tenant, i) for i in ids} == {"released"}
    assert audited(tenant, "Held Message Released") == ROUNDS  # released once each


def test_release_racing_reject_one_succeeds_the_other_is_409(tenant: Tenant) -> None:
    ids = held(tenant, ROUNDS)
    releases: list[Call] = [(RELEASE, [{"id": i}]) for i in ids]
    rejects: list[Call] = [(REJECT, [{"ids": [i]}]) for i in ids]
    for held_id, (release, reject) in zip(ids, race(tenant, releases, rejects), strict=True):
        pair = Counter([kind(release), kind(reject)])
        assert pair == {"ok": 1, "409 err_hold_already_processed": 1}, (release, reject)
        expected = "released" if kind(release) == "ok" else "rejected"
        assert held_status(tenant, held_id) == expected


def test_two_rejects_of_one_message(tenant: Tenant) -> None:
    ids = held(tenant, ROUNDS)
    pairs = race(tenant, [(REJECT, [{"ids": [i]}]) for i in ids])
    assert_one_wins(pairs, "409 err_hold_already_processed")
    assert audited(tenant, "Held Message Rejected") == ROUNDS


@pytest.mark.parametrize(
    ("path", "make", "loser"),
    [
        (
            "/api/domain/create-domain",
            lambda n: [{"domain": f"race{n}.example"}],
            "409 err_domain_exists",
        ),
        (
            "/api/user/create-user",
            lambda n: [{"emailAddress": f"race{n}@demo.example", "password": "S3cret-pass"}],
            "409 err_user_exists",
        ),
        (
            "/api/ttp/url/create-managed-url",
            lambda n: [{"url": f"https://race{n}.example/", "action": "block"}],
            "fail err_managed_url_exists_code",
        ),
    ],
    ids=["create-domain", "create-user", "create-managed-url"],
)
def test_two_creations_of_one_thing(
    tenant: Tenant, path: str, make: Callable[[int], list[Item]], loser: str
) -> None:
    pairs = race(tenant, [(path, make(n)) for n in range(ROUNDS)])
    assert_one_wins(pairs, loser)


def test_two_deletions_of_one_managed_url(tenant: Tenant) -> None:
    urls = [{"url": f"https://gone{n}.example/", "action": "permit"} for n in range(ROUNDS)]
    (created, _), *_ = race(tenant, [("/api/ttp/url/create-managed-url", urls)], [
        ("/api/ttp/url/create-managed-url", [])  # the other thread sends nothing to race
    ])  # fmt: skip
    ids = [record["id"] for record in created[1]["data"]]
    assert len(ids) == ROUNDS
    pairs = race(tenant, [("/api/ttp/url/delete-managed-url", [{"id": i}]) for i in ids])
    assert_one_wins(pairs, "fail err_managed_url_not_found")
    assert audited(tenant, "Managed URL Deleted") == ROUNDS


def test_two_adds_and_two_removals_of_one_group_member(tenant: Tenant) -> None:
    with tenant.emu.store.begin() as conn:
        conn.execute(groups.insert().values(
            id="race-group", account_id=tenant.account.id, description="Race", source="cloud",
            parent_id=None, created=tenant.emu.clock.now(),
        ))  # fmt: skip
    members = [[{"id": "race-group", "emailAddress": f"m{n}@demo.example"}] for n in range(ROUNDS)]
    added = race(tenant, [("/api/directory/add-group-member", m) for m in members])
    assert_one_wins(added, "fail err_folder_group_member_already_exists")
    removed = race(tenant, [("/api/directory/remove-group-member", m) for m in members])
    assert_one_wins(removed, "fail err_folder_email_address_not_found")
    assert (
        audited(tenant, "Group Member Added") == audited(tenant, "Group Member Removed") == ROUNDS
    )


def test_two_first_settings_of_one_sender_pair_make_one_entry(tenant: Tenant) -> None:
    path = "/api/managedsender/permit-or-block-sender"
    calls = [
        (path, [{"sender": f"s{n}@outside.example", "to": "a@demo.example", "action": "block"}])
        for n in range(ROUNDS)
    ]
    for first, second in race(tenant, calls):
        assert kind(first) == kind(second) == "ok", (first, second)
        assert first[1]["data"] == second[1]["data"]  # the same entry, the same id
    with tenant.emu.store.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(managed_senders)).scalar_one()
    assert count == ROUNDS
