"""File answers (get-siem-logs): a file or a JSON answer told apart; the token only after the
file is safely on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcapi._errors import LocalProtocolError

from .conftest import LOGIN, Harness

pytestmark = pytest.mark.anyio
#: Each harness test runs with API 1.0 and API 2.0 credentials (conftest: api_version).
BOTH_API_VERSIONS = True

SIEM = "/api/audit/get-siem-logs"


def item(token: str | None = None) -> list[dict[str, Any]]:
    data: dict[str, Any] = {"type": "MTA", "fileFormat": "json"}
    if token is not None:
        data["token"] = token
    return [data]


async def test_download_writes_the_file_and_returns_the_next_token(
    harness: Harness, tmp_path: Path
) -> None:
    harness.generate()
    got = await harness.client().download(SIEM, item(), tmp_path)
    assert got.is_file and got.filename and got.siem_token
    assert got.target == tmp_path / got.filename
    assert got.target.stat().st_size == got.size > 0
    assert got.target.read_bytes().startswith(b"{")
    assert [p.name for p in tmp_path.iterdir()] == [got.filename]  # no temporary file left
    [entry] = harness.journal(SIEM)
    assert got.request_id == entry.request_id


async def test_following_tokens_reaches_is_last_token(harness: Harness, tmp_path: Path) -> None:
    harness.generate()
    # two days of files, one per log type and half hour: more calls than the default quota
    account = harness.emu.store.find_account(harness.demo.account_code)
    assert account is not None
    harness.emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    client = harness.client()
    token, names = None, []
    for _ in range(2000):
        got = await client.download(SIEM, item(token), tmp_path)
        if not got.is_file:
            assert got.is_last_token and got.result is not None and got.result.ok
            assert got.target is None and got.size == 0
            break
        names.append(got.filename)
        token = got.siem_token
    else:
        pytest.fail("never reached isLastToken")
    assert len(names) == len(set(names)) > 10
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


async def test_an_invalid_token_is_a_json_failure_not_a_file(
    harness: Harness, tmp_path: Path
) -> None:
    harness.generate()
    got = await harness.client().download(SIEM, item("not-a-token"), tmp_path / "x.log")
    assert not got.is_file and got.result is not None
    [failure] = got.result.failures
    assert failure.codes == ("err_audit_siem_invalid_token",) and failure.field == "token"
    assert "save the token only after" in failure.entries[0].remedy
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "effect", [{"status": 500, "sub_code": "0006"}, {"transport": "truncated"}], ids=str
)
async def test_a_failure_before_the_file_is_retried(
    harness: Harness, tmp_path: Path, effect: dict[str, Any]
) -> None:
    harness.generate()
    harness.fault({"match": {"path": SIEM, "times": 1}, "effect": effect})
    got = await harness.client(network=True).download(SIEM, item(), tmp_path)
    assert got.is_file and got.attempts == 2 and got.size > 0
    assert len(harness.journal(SIEM)) == 2


async def test_an_expired_binding_is_refreshed_before_the_file(
    harness: Harness, tmp_path: Path
) -> None:
    harness.generate()
    harness.policy(binding_ttl_seconds=60)
    client = await harness.login()
    harness.emu.clock.advance(120)
    got = await client.download(SIEM, item(), tmp_path)
    assert got.is_file and got.attempts == 2
    assert [e.status for e in harness.journal(SIEM)] == [418, 200]
    assert len(harness.journal(LOGIN)) == 2


async def test_call_on_a_file_function_points_to_download(harness: Harness) -> None:
    harness.generate()
    with pytest.raises(LocalProtocolError) as info:
        await harness.client().call(SIEM, item())
    assert "download()" in str(info.value)
