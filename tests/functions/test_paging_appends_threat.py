"""The threat-intelligence feed keeps its files while indicators arrive and go.

A collector follows ``x-mc-threat-feed-next-token`` from file to file; between two files new
indicators arrive (before the files already read, among them, tied with the boundary the token
names, among those to come, after the last), indicators already read are removed, and the clock
moves on. Every indicator that existed when the walk started must be listed exactly once, in
order (the pattern of ``test_paging_appends``, for a function that pages by a response header).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator._data import GenerateSummary, threat_indicators
from mcapi.emulator._store import Account
from mcapi.emulator.functions._threat_feed import decode_token
from mcapi.emulator.functions.threat_intel import FEED_TOKEN_HEADER, FILE_INDICATORS
from tests.functions.conftest import Api
from tests.functions.test_paging_appends import assert_stable

pytestmark = pytest.mark.anyio

FEED = "/api/ttp/threat-intel/get-feed"
_serial = itertools.count(1)
Between = Callable[[int, str], Awaitable[None]]


async def _walk(api: Api, item: dict[str, Any], between: Between | None = None) -> list[str]:
    """The STIX indicator ids of every file, following the token to the end."""
    listed: list[str] = []
    token: str | None = None
    files = 0
    while True:
        response = await api.call(FEED, [{**item, **({"token": token} if token else {})}])
        assert response.status_code == 200, response.text
        objects = json.loads(response.content)["objects"]
        ids = [o["id"] for o in objects if o["type"] == "indicator"]
        assert len(ids) <= FILE_INDICATORS
        listed += ids
        files += 1
        token = response.headers.get(FEED_TOKEN_HEADER)
        if token is None:  # the empty bundle that ends the walk
            assert ids == []
            return listed
        if between is not None:
            await between(files, token)


def _row(account_id: int, t: float) -> dict[str, Any]:
    n = next(_serial)
    return {
        "account_id": account_id, "feed_type": "malware_grid", "created": t,
        "sha256": f"{n:064x}", "md5": f"{n:032x}", "filename": f"late{n}.exe",
        "file_type": "application/x-msdownload", "sender": "late@outside.example",
        "recipient": "", "subject": f"late {n}", "message_id": "",
    }  # fmt: skip


async def test_feed_files_stay_put_while_indicators_arrive_and_go(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    item = {"feedType": "malware_grid", "fileType": "stix"}
    before = await _walk(api, item)
    assert len(before) > 2 * FILE_INDICATORS
    t = threat_indicators.c

    def ordered() -> list[tuple[float, int]]:
        with api.emu.store.connect() as conn:
            return [
                (float(c), int(s))
                for c, s in conn.execute(
                    sa.select(t.created, t.seq)
                    .where(t.account_id == account.id, t.feed_type == "malware_grid")
                    .order_by(t.created, t.seq)
                )
            ]

    async def between(files: int, token: str) -> None:
        if files > 3:  # then let the walk reach its end
            return
        api.emu.clock.advance(60)  # time passes while the collector reads
        bound = decode_token(token, account.id, "malware_grid")
        assert bound is not None
        rows = ordered()
        cut = rows.index(bound) + 1
        seen, ahead = [c for c, _ in rows[:cut]], [c for c, _ in rows[cut:]]
        times = [seen[0] - 1, seen[0], seen[len(seen) // 2], bound[0]]
        if len(ahead) > 1:
            times += [ahead[0], (ahead[0] + ahead[1]) / 2, ahead[-1]]
        times += [api.emu.clock.now() - 1]  # brand new, after the last
        with api.emu.store.begin() as conn:
            conn.execute(threat_indicators.insert(), [_row(account.id, x) for x in times])
            # an indicator already read is withdrawn
            conn.execute(threat_indicators.delete().where(t.seq == rows[cut - 1][1]))

    walked = await _walk(api, item, between)
    assert_stable(before, walked)
