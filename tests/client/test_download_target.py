"""Where downloads land: a directory target keeps every file of a SIEM token loop, a file target
is never overwritten by the loop's next file, and the server's file name cannot leave the
directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from mcapi.client import Client
from mcapi.client._stream import filename_of, safe_filename
from mcapi.emulator._data import generate

from .conftest import Harness

pytestmark = pytest.mark.anyio

SIEM = "/api/audit/get-siem-logs"


def item(token: str | None = None) -> list[dict[str, Any]]:
    data: dict[str, Any] = {"type": "MTA", "fileFormat": "json"}
    if token is not None:
        data["token"] = token
    return [data]


def three_days(harness: Harness) -> int:
    """Three days of a generated tenant: 144 half hours, each with a SIEM file per log type
    (several hundred files in all); the number of files."""
    account = harness.emu.store.find_account(harness.demo.account_code)
    assert account is not None
    # a file per log type and half hour: more calls than the default quota allows
    harness.emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    summary = generate(
        harness.emu.store, account.id, seed=11, users=12, days=3, now=harness.emu.clock.now(),
        messages_per_user_day=4,
    )  # fmt: skip
    assert summary.siem_files > 144
    return summary.siem_files


def direct(harness: Harness, tokens: list[str | None]) -> list[tuple[str | None, int, str]]:
    """(file name, size, sha256) of the file each token answers, read into memory by a plain
    client's ``call_stream``: nothing of ``download()`` is involved."""
    d = harness.demo
    found = []
    with Client(
        base_url=harness.loopback(), app_id=d.app_id, app_key=d.app_key,
        access_key=d.access_key, secret_key=d.secret_key, clock=harness.emu.clock.now,
    ) as client:  # fmt: skip
        for token in tokens:
            with client.call_stream(SIEM, item(token)) as stream:
                assert stream.is_file
                body = b"".join(stream.iter_bytes())
                found.append((stream.filename, len(body), hashlib.sha256(body).hexdigest()))
    return found


async def test_a_siem_token_loop_into_a_missing_directory_keeps_every_file(
    harness: Harness, tmp_path: Path
) -> None:
    """The loop of the documentation, pointed at ``logs/`` before it exists: once every file
    went over one file named ``logs``. Now each arrives under its own name, intact."""
    files = three_days(harness)
    client = harness.client()
    target = f"{tmp_path}/logs/"  # a string: Path() would forget the slash
    token: str | None = None
    sent: list[str | None] = []
    got = []
    for _ in range(files + 10):
        answer = await client.download(SIEM, item(token), target)
        if not answer.is_file:
            assert answer.is_last_token
            break
        sent.append(token)
        got.append(answer)
        token = answer.siem_token
    else:
        pytest.fail("never reached isLastToken")
    logs = tmp_path / "logs"
    assert len(got) == files and logs.is_dir()
    on_disk = sorted(p.name for p in logs.iterdir())
    assert on_disk == sorted(a.filename for a in got) and len(set(on_disk)) == files
    written = [(a.filename, a.size, hashlib.sha256(a.target.read_bytes()).hexdigest()) for a in got]
    for answer in got:
        assert answer.target == logs / answer.filename
        assert answer.target.stat().st_size == answer.size > 0
    assert written == direct(harness, sent)


async def test_a_file_target_is_never_overwritten_by_the_next_file(
    harness: Harness, tmp_path: Path
) -> None:
    harness.generate()
    client = harness.client()
    target = tmp_path / "siem.log"
    first = await client.download(SIEM, item(), target)
    assert first.is_file and first.target == target
    kept = target.read_bytes()
    with pytest.raises(FileExistsError) as info:
        await client.download(SIEM, item(first.siem_token), target)
    assert "not a directory" in str(info.value) and "end the path with '/'" in str(info.value)
    assert target.read_bytes() == kept
    assert len(harness.journal(SIEM)) == 1  # refused before calling: no token handed out
    assert [p.name for p in tmp_path.iterdir()] == ["siem.log"]  # no temporary file left


async def test_overwrite_replaces_a_file_target(harness: Harness, tmp_path: Path) -> None:
    harness.generate()
    client = harness.client()
    target = tmp_path / "siem.log"
    first = await client.download(SIEM, item(), target)
    second = await client.download(SIEM, item(first.siem_token), target, overwrite=True)
    assert second.is_file and second.target == target
    assert target.stat().st_size == second.size
    assert [name for name, *_ in direct(harness, [first.siem_token])] == [second.filename]


async def test_an_existing_directory_without_a_slash_is_a_directory(
    harness: Harness, tmp_path: Path
) -> None:
    harness.generate()
    got = await harness.client().download(SIEM, item(), str(tmp_path))
    assert got.filename and got.target == tmp_path / got.filename


async def test_the_same_file_fetched_again_into_a_directory_replaces_itself(
    harness: Harness, tmp_path: Path
) -> None:
    """A run that stopped after writing a file but before saving its token fetches that file
    again on its next start: the same name, the same content, one file."""
    harness.generate()
    client = harness.client()
    first = await client.download(SIEM, item(), f"{tmp_path}/logs/")
    again = await client.download(SIEM, item(), tmp_path / "logs")  # now an existing directory
    assert again.target == first.target and [p.name for p in (tmp_path / "logs").iterdir()] == [
        first.filename
    ]


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("receipt_20191125134532478.log", "receipt_20191125134532478.log"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/etc/cron.d/job", "job"),
        ("..", None),
        ("../", None),
        (".bashrc", "bashrc"),
        ("a\x00b\nc:d", "a_b_c_d"),
        ("", None),
        (None, None),
    ],
)
def test_safe_filename_keeps_a_plain_name_only(given: str | None, safe: str | None) -> None:
    assert safe_filename(given) == safe


def test_a_long_name_is_cut_to_255_bytes_keeping_its_extension() -> None:
    name = safe_filename("é" * 300 + ".log")
    assert name is not None and name.endswith(".log") and len(name.encode()) <= 255


@pytest.mark.parametrize(
    "header",
    [
        'attachment; filename="../../../home/user/.ssh/authorized_keys"',
        "attachment; filename*=UTF-8''..%2F..%2F.ssh%2Fauthorized_keys",
    ],
)
def test_content_disposition_cannot_leave_the_directory(header: str) -> None:
    assert filename_of(header) == "authorized_keys"
