"""Two remediation incidents racing over the same messages: each message is removed exactly once.

The pattern of ``test_concurrency``: the two calls are sent at the same instant from two threads,
against one emulator on a database file (and on PostgreSQL when ``MCAPI_TEST_POSTGRES_URL`` is
set). Whatever the interleaving, the two incidents identify the same messages, and every message
is removed by one of them and failed by the other.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mcapi.emulator import Emulator
from mcapi.emulator._data import generate, message_attachments, remediation_messages
from tests.functions.test_concurrency import Tenant, race

CREATE = "/api/ttp/remediation/create"


@pytest.fixture
def shared(shared_db_url: str) -> Iterator[Tenant]:
    """The demo tenant with a week of generated mail, on a database two threads share."""
    emu = Emulator(shared_db_url, kdf_n=2**10)
    creds = emu.load_demo()
    account = emu.store.find_account(creds.account_code)
    assert account is not None
    generate(emu.store, account.id, seed=7, users=20, days=7, now=emu.clock.now())
    yield Tenant(emu, creds, account)
    emu.close()


def _shared_hashes(t: Tenant, count: int) -> list[str]:
    """Malicious hashes carried by at least two messages each."""
    a = message_attachments.c
    with t.emu.store.connect() as conn:
        rows = conn.execute(
            sa.select(a.sha256, sa.func.count(sa.distinct(a.message_id)))
            .where(a.account_id == t.account.id, a.malicious == sa.true())
            .group_by(a.sha256)
            .having(sa.func.count(sa.distinct(a.message_id)) >= 2)
            .order_by(a.sha256)
        ).all()
    assert len(rows) >= count, rows
    return [r[0] for r in rows[:count]]


def test_racing_incidents_remove_each_message_once(shared: Tenant) -> None:
    t = shared
    hashes = _shared_hashes(t, 3)
    calls = [(CREATE, [{"reason": "race", "hashOrMessageId": h}]) for h in hashes]
    for (s1, b1), (s2, b2) in race(t, calls):
        assert s1 == s2 == 200 and b1["fail"] == b2["fail"] == []
        first, second = b1["data"][0], b2["data"][0]
        identified = first["identified"]
        assert identified == second["identified"] >= 2
        assert first["successful"] + second["successful"] == identified
        assert first["failed"] + second["failed"] == identified
    r = remediation_messages.c
    with t.emu.store.connect() as conn:
        removed = conn.execute(
            sa.select(r.message_id, sa.func.count())
            .where(r.status == "removed")
            .group_by(r.message_id)
        ).all()
    assert removed and all(n == 1 for _, n in removed)
