"""The seeded generator, page tokens and SIEM files as units: determinism, volume, bounds."""

from __future__ import annotations

import io
import zipfile
from typing import Any, cast

import pytest
import sqlalchemy as sa

from mcapi._envelope import PageRequest
from mcapi.emulator._data import (
    audit_events,
    click_logs,
    generate,
    group_members,
    groups,
    held_messages,
    messages,
    record_audit,
    set_profile,
    siem_streams,
)
from mcapi.emulator._store import Store
from mcapi.emulator.functions import _siem
from mcapi.emulator.functions._common import ItemRefused
from mcapi.emulator.functions._paging import decode_token, encode_token, page, walk_now
from tests.functions.conftest import T0

TABLES = (messages, held_messages, audit_events, click_logs, groups, group_members, siem_streams)


def fresh() -> tuple[Store, int]:
    store = Store("sqlite://", kdf_n=2**10)
    store.create_all()
    account = store.create_account("CUSA10001", "Acme")
    store.add_domain(account.id, "acme.example", now=T0)
    return store, account.id


def dump(store: Store) -> dict[str, list[Any]]:
    with store.connect() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key))]
            for t in TABLES
        }


def test_the_same_seed_gives_the_same_tenant() -> None:
    first, a = fresh()
    second, b = fresh()
    generate(first, a, seed=11, users=15, days=2, now=T0)
    generate(second, b, seed=11, users=15, days=2, now=T0)
    assert dump(first) == dump(second)
    third, c = fresh()
    generate(third, c, seed=12, users=15, days=2, now=T0)
    assert dump(third)["messages"] != dump(first)["messages"]


def test_volume_follows_users_and_days() -> None:
    store, account = fresh()
    summary = generate(store, account, seed=1, users=40, days=2, now=T0, messages_per_user_day=10)
    assert summary.users == 40
    assert 0.8 * 800 <= summary.messages <= 1.2 * 800
    assert summary.held > 0 and summary.audit_events > 0 and summary.click_logs > 0
    # 96 half hours, each with its receipt, process, delivery and journal files, some with spam,
    # AV and TTP files too
    assert 96 * 4 <= summary.siem_files <= 96 * 9
    assert summary.attachment_logs > 0 and summary.impersonation_logs > 0
    with store.connect() as conn:
        first, last = conn.execute(sa.select(sa.func.min(messages.c.received),
                                             sa.func.max(messages.c.received))).one()  # fmt: skip
    assert first >= T0 - 2 * 86400 and last <= T0


def test_generating_again_replaces_only_generated_rows() -> None:
    store, account = fresh()
    generate(store, account, seed=1, users=10, days=1, now=T0)
    with store.begin() as conn:
        record_audit(conn, account, user="admin@acme.example", audit_type="Kept",
                     category="account_logs", info="made through the API", now=T0)  # fmt: skip
    again = generate(store, account, seed=1, users=10, days=1, now=T0)
    assert again.users == 0  # the people exist already
    with store.connect() as conn:
        kept = conn.execute(sa.select(audit_events).where(audit_events.c.audit_type == "Kept"))
        assert len(list(kept)) == 1
        count = conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar_one()
    assert count == again.messages


def test_a_week_of_a_hundred_users() -> None:
    store, account = fresh()
    summary = generate(store, account, seed=5, users=100, days=7, now=T0)
    assert summary.messages > 10_000


def test_generate_refuses_nonsense() -> None:
    store, account = fresh()
    with pytest.raises(ValueError, match="at least 1"):
        generate(store, account, seed=1, users=0, days=1, now=T0)
    with pytest.raises(LookupError):
        generate(store, account + 1, seed=1, users=1, days=1, now=T0)
    with pytest.raises(ValueError, match="max_retention_days"):
        set_profile(store, account, max_retention_days=0)
    with pytest.raises(ValueError, match="unknown profile"):
        set_profile(store, account, colour="blue")


# -- page tokens ----------------------------------------------------------------------------------


def test_page_tokens_round_trip_and_refuse_tampering() -> None:
    token = encode_token("audit-events", "n", [1_760_000_000.5, 42])
    assert decode_token(token, "audit-events") == ("n", [1_760_000_000.5, 42])
    for bad in (token[:-2], token[:5] + "A" + token[6:], "", "%%%"):
        with pytest.raises(ItemRefused) as caught:
            decode_token(bad, "audit-events")
        assert (caught.value.code, caught.value.field) == (
            "err_validation_invalid_value",
            "pageToken",
        )
    with pytest.raises(ItemRefused):
        decode_token(token, "ttp-logs:newest")


def test_a_token_carries_the_instant_its_walk_started() -> None:
    """Defaults relative to now (the last 24 hours...) name the same window on every page."""
    token = encode_token("s", "n", [1.5, 2], T0 + 0.25)
    assert decode_token(token, "s") == ("n", [1.5, 2])
    assert walk_now(PageRequest(page_size=5, page_token=token), "s", T0 + 999) == T0 + 0.25
    assert walk_now(PageRequest(page_size=5), "s", T0 + 999) == T0 + 999  # a first page
    assert walk_now(None, "s", T0 + 999) == T0 + 999
    unanchored = encode_token("s", "n", [1.5, 2])
    assert walk_now(PageRequest(page_token=unanchored), "s", T0 + 999) == T0 + 999
    for anchor in (float("inf"), True, "noon", [T0]):
        bad = encode_token("s", "n", [1.5, 2], cast(Any, anchor))
        with pytest.raises(ItemRefused) as caught:
            walk_now(PageRequest(page_token=bad), "s", T0)
        assert caught.value.field == "pageToken"
    with pytest.raises(ItemRefused):
        walk_now(PageRequest(page_token=token), "other-scope", T0)


@pytest.mark.parametrize("key", [[10**30, 1], [float("inf"), 1], ["text", 1], [True, 1], [1.0]])
def test_a_well_formed_token_with_an_impossible_key_is_refused(key: list[Any]) -> None:
    """A token is not secret: one built by hand must fail as a field error, never reach SQL."""
    store, _ = fresh()
    with store.connect() as conn, pytest.raises(ItemRefused) as caught:
        page(conn, sa.select(audit_events), [audit_events.c.event_time, audit_events.c.seq],
             request=PageRequest(page_size=5, page_token=encode_token("s", "n", key)),
             scope="s", descending=True)  # fmt: skip
    assert caught.value.field == "pageToken"


# -- SIEM files -----------------------------------------------------------------------------------


STREAM = _siem.SiemStream(
    account_id=1, account_code="CUSA10001", seed=9, users=500, domain="acme.example",
    start_slot=0, messages_per_user_day=20,
)  # fmt: skip


@pytest.mark.parametrize(("file_format", "compress"), [("json", False), ("key_value", True)])
def test_a_busy_file_is_produced_in_bounded_chunks(file_format: str, compress: bool) -> None:
    busy_slot = int((T0 // 86400) * 86400 + 10 * 3600) // 1800  # 10:00 UTC, office hours

    def produce() -> list[bytes]:
        records = _siem.mta_records(STREAM, busy_slot, "receipt")
        return list(_siem.file_chunks(records, busy_slot, "receipt", file_format, compress))

    chunks = produce()
    content = b"".join(chunks)
    if compress:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = archive.read(archive.namelist()[0])
    assert len(content) > 150_000  # a 500-user tenant at 10:00: hundreds of kilobytes of log
    assert max(map(len, chunks)) < 256 * 1024  # never more than one chunk of rows at a time
    assert chunks == produce()


def test_siem_tokens_belong_to_one_account() -> None:
    token = _siem.encode_token(1, 977_000, 2)
    assert _siem.decode_token(token, 1) == (977_000, 2)
    assert _siem.decode_token(token, 2) is None
    assert _siem.decode_token("garbage!", 1) is None
