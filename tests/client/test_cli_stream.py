"""``mcapi call``: --all-pages streams records as JSONL, --output keeps every file, progress only
on a terminal, ``-v`` shows each attempt. Against an emulator on a loopback socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcapi.client import Client
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._faults import FaultRule

from . import test_cli as cli_tests
from .conftest import ACCOUNT

# The fixtures and helpers of test_cli (and conftest's ``live``, the emulator on a loopback
# socket): a clean environment.
env = cli_tests.env
login = cli_tests.login
run = cli_tests.run

Live = tuple[Emulator, EmulatorCredentials, str]
AUDIT = "/api/audit/get-audit-events"
SEARCH = "/api/message-finder/search"
SIEM = "/api/audit/get-siem-logs"


def fmt(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def filled(live: Live) -> tuple[Emulator, EmulatorCredentials, str]:
    emulator, demo, url = live
    emulator.generate(demo.account_code, seed=3, users=10, days=1, messages_per_user_day=6)
    return emulator, demo, url


def audit_window(emulator: Emulator) -> str:
    now = emulator.clock.now()
    return json.dumps({"startDateTime": fmt(now - 3 * 86400), "endDateTime": fmt(now + 86400)})


def pages_of(live: Live, path: str, data: str, size: int) -> list[Any]:
    """Each page's data items, read by a plain client (the reference)."""
    _, demo, url = live
    with Client(
        base_url=url, app_id=demo.app_id, app_key=demo.app_key, access_key=demo.access_key,
        secret_key=demo.secret_key,
    ) as client:  # fmt: skip
        return [list(p.data) for p in client.pages(path, [json.loads(data)], page_size=size)]


def lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines()]


def test_all_pages_writes_each_record_as_a_line_of_json(
    env: dict[str, str],
    live: Live,
) -> None:
    emulator, demo, _ = filled(live)
    login(env, demo)
    now = emulator.clock.now()
    data = json.dumps({"start": fmt(now - 2 * 86400), "end": fmt(now + 3600)})
    pages = pages_of(live, SEARCH, data, 7)
    expected = [r for page in pages for item in page for r in item["trackedEmails"]]
    assert len(pages) >= 3

    result = run(env, "call", SEARCH, "--data", data, "--page-size", "7", "--all-pages")
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == expected  # the records, not one wrapper per page
    assert result.stderr == ""  # piped: no progress, no summary

    raw = run(env, "call", SEARCH, "--data", data, "--page-size", "7", "--all-pages",
              "--page-items")  # fmt: skip
    assert raw.exit_code == 0, raw.output
    assert lines(raw.stdout) == [item for page in pages for item in page]


def test_an_interrupted_all_pages_run_has_written_the_pages_before(
    env: dict[str, str], live: Live
) -> None:
    """Page 3 fails for good: the records of pages 1 and 2 are already on stdout, the error
    (as JSON) is on stderr, and the exit code says the platform failed."""
    emulator, demo, _ = filled(live)
    login(env, demo)
    data = audit_window(emulator)
    pages = pages_of(live, AUDIT, data, 5)
    assert len(pages) >= 4
    emulator.faults.add(
        FaultRule.from_dict(
            {"match": {"path": AUDIT, "call_number": 3, "times": 1000},
             "effect": {"status": 500, "sub_code": "0006"}}
        )
    )  # fmt: skip
    result = run(env, "call", AUDIT, "--data", data, "--page-size", "5", "--all-pages",
                 "--no-retry")  # fmt: skip
    assert result.exit_code == 8, result.output
    assert lines(result.stdout) == pages[0] + pages[1]
    error = json.loads(result.stderr.split("\nmcapi: ")[0])["error"]
    assert error["status"] == 500 and error["endpoint"] == AUDIT


def test_output_to_a_missing_directory_keeps_each_file(
    env: dict[str, str], live: Live, tmp_path: Path
) -> None:
    _, demo, _ = filled(live)
    login(env, demo)
    logs = f"{tmp_path}/logs/"
    token, names = None, []
    for _ in range(4):
        item: dict[str, Any] = {"type": "MTA", "fileFormat": "json"}
        if token:
            item["token"] = token
        result = run(env, "call", SIEM, "--data", json.dumps(item), "--output", logs)
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        summary = json.loads(result.stdout)
        assert summary["file"] == str(tmp_path / "logs" / summary["filename"])
        names.append(summary["filename"])
        token = summary["siem_token"]
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == sorted(names)
    assert len(set(names)) == 4


def test_output_to_an_existing_file_is_refused(
    env: dict[str, str], live: Live, tmp_path: Path
) -> None:
    emulator, demo, _ = filled(live)
    login(env, demo)
    target = tmp_path / "logs"
    item = json.dumps({"type": "MTA", "fileFormat": "json"})
    first = run(env, "call", SIEM, "--data", item, "--output", str(target))
    assert first.exit_code == 0, first.output
    kept = target.read_bytes()
    emulator.journal.clear()
    second = run(env, "call", SIEM, "--data", item, "--output", str(target))
    assert second.exit_code == 2
    assert "exists and is not a directory" in second.stderr and "--overwrite" in second.stderr
    assert target.read_bytes() == kept and emulator.journal.entries(path=SIEM) == []
    again = run(env, "call", SIEM, "--data", item, "--output", str(target), "--overwrite")
    assert again.exit_code == 0, again.output


def test_progress_is_drawn_only_when_asked_or_on_a_terminal(
    env: dict[str, str], live: Live
) -> None:
    """CliRunner's stderr is not a terminal: nothing is drawn unless --progress forces it, and
    stdout stays pure JSONL either way."""
    emulator, demo, _ = filled(live)
    login(env, demo)
    args = ["call", AUDIT, "--data", audit_window(emulator), "--page-size", "25", "--all-pages"]
    quiet = run(env, *args)
    shown = run(env, *args, "--progress")
    assert quiet.exit_code == shown.exit_code == 0
    assert quiet.stderr == "" and quiet.stdout == shown.stdout
    pages = len(pages_of(live, AUDIT, audit_window(emulator), 25))
    records = len(lines(shown.stdout))
    assert f"{AUDIT}: {pages} pages, {records} records" in shown.stderr


def test_verbose_shows_each_attempt_with_secrets_redacted(env: dict[str, str], live: Live) -> None:
    emulator, demo, url = live
    login(env, demo)
    emulator.faults.add(
        FaultRule.from_dict(
            {"match": {"path": ACCOUNT, "times": 1}, "effect": {"status": 500, "sub_code": "0006"}}
        )
    )
    result = run(env, "call", ACCOUNT, "-v")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"][0]["accountCode"] == demo.account_code
    err = result.stderr.splitlines()
    requests = [line for line in err if line.startswith(f"mcapi: > POST {url}{ACCOUNT}")]
    assert len(requests) == 2
    auth = [line for line in err if line.startswith("mcapi: > authorization: ")]
    assert len(auth) == 2 and all(line.endswith(":[redacted]") for line in auth)
    assert any(line.startswith("mcapi: > x-mc-req-id: ") for line in err)
    decisions = [line for line in err if line.startswith("mcapi: < ")]
    assert decisions[0].startswith("mcapi: < 500 0006 (attempt 1, x-mc-req-id ")
    assert ": retry in " in decisions[0] and " s (retry 1/3): " in decisions[0]
    assert decisions[1].startswith("mcapi: < 200 (attempt 2, ") and ": ok" in decisions[1]
    profile = Path(env["MCAPI_CONFIG"]).read_text()
    secret = profile.split('secret_key = "')[1].split('"')[0]
    access = profile.split('access_key = "')[1].split('"')[0]
    assert secret not in result.stderr and access not in result.stderr


def test_failed_items_go_to_stderr_and_exit_3(env: dict[str, str], live: Live) -> None:
    _, demo, _ = live
    login(env, demo)
    bad = json.dumps({"startDateTime": "2000-01-01T00:00:00+0000",
                      "endDateTime": "2000-01-02T00:00:00+0000"})  # fmt: skip
    result = run(env, "call", AUDIT, "--data", bad, "--all-pages")
    assert result.exit_code == 3, result.output
    assert result.stdout == ""  # stdout holds records only
    [line] = result.stderr.splitlines()
    failure = json.loads(line)
    assert failure["request_id"] and failure["fail"][0]["errors"][0]["field"] == "startDateTime"


def test_a_download_with_progress_keeps_stdout_pure_json(
    env: dict[str, str], live: Live, tmp_path: Path
) -> None:
    _, demo, _ = filled(live)
    login(env, demo)
    item = json.dumps({"type": "MTA", "fileFormat": "json"})
    result = run(env, "call", SIEM, "--data", item, "--output", f"{tmp_path}/logs/", "--progress")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert Path(summary["file"]).stat().st_size == summary["size"] > 0
    assert "\x1b[" in result.stderr  # drawn, on stderr only


def test_a_reader_that_stops_early_ends_the_run_quietly(live: Live, tmp_path: Path) -> None:
    """``mcapi call --all-pages ... | head -1``: no traceback when the pipe closes."""
    emulator, demo, url = filled(live)
    environ = {**os.environ, **demo.env(), "MCAPI_BASE_URL": url,
               "MCAPI_CONFIG": str(tmp_path / "none.toml")}  # fmt: skip
    argv = [sys.executable, "-c", "from mcapi.cli import main; main()", "call", AUDIT,
            "--data", audit_window(emulator), "--page-size", "2", "--all-pages"]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environ)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 0, err
    assert json.loads(first)["auditType"] and "Traceback" not in err and err == ""


def test_progress_says_why_and_how_long_it_waits_and_which_code_it_retries(
    env: dict[str, str], live: Live
) -> None:
    emulator, demo, _ = live
    login(env, demo)
    effects = [{"status": 429, "reset_ms": 600}, {"status": 500, "sub_code": "0006"}]
    for number, effect in enumerate(effects, 1):
        rule = {"match": {"path": ACCOUNT, "call_number": number}, "effect": effect}
        emulator.faults.add(FaultRule.from_dict(rule))
    shown = run(env, "call", ACCOUNT, "--progress")
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stderr.split())  # rich wraps long lines
    assert (
        f"mcapi: {ACCOUNT}: 429, the quota is spent; waiting 0.6 s for it to refill "
        "(wait 1/10; quota spent; X-RateLimit-Reset 600 ms)"
    ) in text
    assert f"mcapi: {ACCOUNT}: 500 0006 on attempt 2; retry 1/3 in " in text
    assert "retries left in the budget" in text
    assert json.loads(shown.stdout)["attempts"] == 3

    emulator.faults.clear()
    rule = {"match": {"path": ACCOUNT, "call_number": 1}, "effect": effects[0]}
    emulator.faults.add(FaultRule.from_dict(rule))
    quiet = run(env, "call", ACCOUNT)
    assert quiet.exit_code == 0 and quiet.stderr == ""  # not a terminal: nothing drawn


def test_redact_header_keeps_no_credential() -> None:
    from mcapi.cli._progress import redact_header

    assert redact_header("Authorization", "MC AbCdEfGh:c2lnbmF0dXJl") == "MC AbCd…:[redacted]"
    assert redact_header("authorization", "Basic-Cloud dXNlcjpwYXNz") == "Basic-Cloud [redacted]"
    assert redact_header("x-mc-app-key", "secret-app-key") == "[redacted]"
    assert redact_header("x-mc-app-id", "app-id") == "app-id"
    assert redact_header("x-mc-req-id", "ABC") == "ABC"


def test_a_forced_quota_then_a_failing_platform_shown_on_a_terminal_and_with_v(
    env: dict[str, str], live: Live
) -> None:
    """The quota wait names its code and counts down; each retry says which code, which retry
    of how many and when; -v shows the client giving up. Piped, none of it is drawn."""
    emulator, demo, _ = live
    login(env, demo)

    def faults() -> None:
        emulator.faults.clear()
        emulator.faults.add(FaultRule.forced_quota(ACCOUNT, call_number=1, reset_ms=800))
        failing = {"match": {"path": ACCOUNT, "times": 10},
                   "effect": {"status": 500, "sub_code": "0006"}}  # fmt: skip
        emulator.faults.add(FaultRule.from_dict(failing))

    faults()
    shown = run(env, "call", ACCOUNT, "--progress", "-v")
    assert shown.exit_code == 8, shown.output
    text = " ".join(shown.stderr.split())
    assert (
        f"mcapi: {ACCOUNT}: 429 0008, the quota is spent; waiting 0.8 s for it to refill "
        "(wait 1/10; quota spent; X-RateLimit-Reset 800 ms)"
    ) in text
    assert "waiting for the quota (429 0008)" in text and " s left" in text  # the countdown
    for attempt, retry in ((2, 1), (3, 2), (4, 3)):
        assert f"mcapi: {ACCOUNT}: 500 0006 on attempt {attempt}; retry {retry}/3 in " in text
    decisions = [line for line in shown.stderr.splitlines() if line.startswith("mcapi: < ")]
    assert [d.split(" (attempt ")[0] for d in decisions] == [
        "mcapi: < 429 0008",
        *["mcapi: < 500 0006"] * 4,
    ]
    assert ": wait 0.800 s (wait 1/10): " in decisions[0]
    assert decisions[-1].startswith("mcapi: < 500 0006 (attempt 5, ")
    assert ": raise: " in decisions[-1] and "gave up after 4 attempt(s)" in decisions[-1]

    faults()
    piped = run(env, "call", ACCOUNT)
    assert piped.exit_code == 8
    assert "\x1b[" not in piped.stderr and "the quota is spent" not in piped.stderr
    assert "on attempt" not in piped.stderr and "mcapi: <" not in piped.stderr
