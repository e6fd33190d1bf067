"""What a person sees: on a terminal, a live table per stream (records, files or pages, quota
left, state); piped, plain log lines and no terminal control sequences."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.collect.conftest import Tenant, cli_env

COMMAND = ("-c", "from mcapi.cli import main; main()", "collect", "audit", "siem")


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed (Linux answers EIO)
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_terminal_shows_a_live_table_of_the_streams(tenant: Tenant, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    env = {**cli_env(tenant, tmp_path), "COLUMNS": "140", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, *COMMAND, "--output", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    os.close(follower)
    screen = _read_all(leader).decode(errors="replace")
    os.close(leader)
    assert process.wait(timeout=120) == 0
    assert process.stdout is not None and b'"streams"' in process.stdout.read()
    for heading in ("mcapi collect", "stream", "records", "files/pages", "quota left", "state"):
        assert heading in screen
    assert "audit" in screen and "siem" in screen and "caught up" in screen
    assert "\x1b[" in screen  # drawn and redrawn in place


def test_piped_output_is_plain_log_lines(tenant: Tenant, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, *COMMAND, "--output", str(tmp_path / "out")],
        capture_output=True, env=cli_env(tenant, tmp_path), timeout=120, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr and "files/pages" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and any(" audit " in line for line in lines)
    assert any(" siem " in line for line in lines)
