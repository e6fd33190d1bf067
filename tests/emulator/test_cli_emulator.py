"""``mcapi emulator ...``: the admin commands against a real emulator on a loopback socket, and
``serve`` itself in a subprocess (start, restart on the same database file, Ctrl-C).

The admin commands run through click's CliRunner with the environment ``serve --demo`` tells a
user to paste (MCAPI_BASE_URL, MCAPI_ADMIN_TOKEN); what they change is checked with signed calls
over HTTP, the way the user's integration would notice it.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.cli import cli
from mcapi.cli._admin_client import parse_duration
from mcapi.emulator import Emulator, EmulatorCredentials

LOGOUT = "/api/login/logout"
ACCOUNT = "/api/account/get-account"
ADMIN = "admin@demo.example"
Run = Callable[..., Result]

SEED_TOML = """
[[accounts]]
code = "CUSA55555"
name = "Acme"
domains = ["acme.example"]
applications = [{ name = "app" }]
[[accounts.users]]
email = "ops@acme.example"
password = "ops password 1"
permissions = ["*"]
"""


@pytest.fixture
def run(mcapi_server: str, mcapi_credentials: EmulatorCredentials) -> Run:
    """Invoke ``mcapi emulator ARGS`` with the variables ``serve --demo`` prints."""

    def invoke(*args: str, env: dict[str, str | None] | None = None, input: str = "") -> Result:
        environment: dict[str, str | None] = {
            "MCAPI_BASE_URL": mcapi_server,
            "MCAPI_ADMIN_TOKEN": mcapi_credentials.admin_token,
        }
        environment.update(env or {})
        return CliRunner().invoke(cli, ["emulator", *args], env=environment, input=input)

    return invoke


@pytest.fixture
def call(
    mcapi_server: str, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> Callable[..., httpx.Response]:
    """A signed logout-of-nothing over HTTP (every emulator serves it), with any keys."""

    def signed(access_key: str | None = None, secret_key: str | None = None) -> httpx.Response:
        headers = signed_headers(
            access_key=access_key or mcapi_credentials.access_key,
            secret_key=secret_key or mcapi_credentials.secret_key,
            app_id=mcapi_credentials.app_id,
            app_key=mcapi_credentials.app_key,
            path=LOGOUT,
            date=format_date(mcapi_emulator.clock.now()),
            request_id=new_request_id(),
        )
        return httpx.post(mcapi_server + LOGOUT, json={"data": []}, headers=headers, timeout=10)

    return signed


def sub_code(response: httpx.Response) -> str:
    message = response.json()["fail"][0]["errors"][0]["message"]
    return f"{response.status_code} {message.split()[0]}"


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def one_line_error(result: Result, exit_code: int, fragment: str) -> None:
    """The command failed the way a user should see it: one line, no traceback."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert fragment in result.output
    assert len(result.output.strip().splitlines()) == 1 or exit_code == 2


# ---- errors ------------------------------------------------------------------------------------


def test_no_token_is_a_usage_error(run: Run) -> None:
    one_line_error(run("reset", env={"MCAPI_ADMIN_TOKEN": None}), 2, "no admin token")


def test_wrong_token_is_one_line(run: Run, mcapi_emulator: Emulator) -> None:
    result = run("faults", "clear", "--admin-token", "not-the-token")
    one_line_error(result, 1, "refused the admin token (401)")


def test_connection_refused_is_one_line(run: Run) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run("journal", "--url", f"http://127.0.0.1:{port}")
    one_line_error(result, 1, "cannot reach the emulator")
    assert "connection refused" in result.output


def test_admin_api_error_message_is_shown(run: Run) -> None:
    one_line_error(run("user", "lock", "nobody@demo.example"), 1, "no user nobody@demo.example")


# ---- reset, seed, clock ------------------------------------------------------------------------


def test_reset_forgets_the_tenant(run: Run, call: Callable[..., httpx.Response]) -> None:
    assert "emulator reset" in ok(run("reset"))
    assert sub_code(call()) == "401 0013"


def test_reset_demo_loads_the_demo_tenant_afresh_and_prints_its_new_keys(
    run: Run,
    call: Callable[..., httpx.Response],
    mcapi_credentials: EmulatorCredentials,
    mcapi_emulator: Emulator,
) -> None:
    output = ok(run("reset", "--demo"))
    assert "emulator reset" in output
    assert f"demo tenant {mcapi_credentials.account_code} loaded afresh" in output
    assert sub_code(call()) == "401 0013"  # the old binding went with the reset
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in output.splitlines()
        if line.startswith("export ")
    )
    assert {"MCAPI_BASE_URL", "MCAPI_ACCESS_KEY", "MCAPI_SECRET_KEY", "MCAPI_ADMIN_TOKEN"} <= set(
        exports
    )
    assert exports["MCAPI_ACCESS_KEY"] != mcapi_credentials.access_key
    headers = signed_headers(
        access_key=exports["MCAPI_ACCESS_KEY"], secret_key=exports["MCAPI_SECRET_KEY"],
        app_id=exports["MCAPI_APP_ID"], app_key=exports["MCAPI_APP_KEY"], path=LOGOUT,
        date=format_date(mcapi_emulator.clock.now()), request_id=new_request_id(),
    )  # fmt: skip
    url = exports["MCAPI_BASE_URL"] + LOGOUT
    fresh = httpx.post(url, json={"data": []}, headers=headers, timeout=10)
    assert fresh.status_code == 200, fresh.text
    assert exports["MCAPI_ADMIN_TOKEN"] == mcapi_credentials.admin_token
    assert "demo data generated: " in output and " messages" in output


def test_seed_file_then_conflict(run: Run, tmp_path: Path) -> None:
    seed = tmp_path / "acme.toml"
    seed.write_text(SEED_TOML)
    output = ok(run("seed", str(seed)))
    assert "1 accounts" in output
    assert "1 users" in output
    assert "ops@acme.example" in ok(run("user", "list"))
    one_line_error(run("seed", str(seed)), 1, "already")


def test_bad_seed_file(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[accounts]]\ncode = \n")
    one_line_error(run("seed", str(broken)), 1, "not TOML")
    wrong_kind = tmp_path / "seed.yaml"
    wrong_kind.write_text("accounts: []")
    one_line_error(run("seed", str(wrong_kind)), 2, ".toml or .json")


def test_a_seed_file_with_three_mistakes_shows_each_on_its_line(run: Run, tmp_path: Path) -> None:
    mistakes = tmp_path / "mistakes.toml"
    # no name, a number for a region, an address without a domain
    mistakes.write_text(
        '[[accounts]]\ncode = "CUSA9"\nregion = 5\n[[accounts.users]]\nemail = "bob"\n'
    )
    result = run("seed", str(mistakes))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert "3 problems (HTTP 400)" in lines[0]
    assert sorted(line.strip().partition(":")[0] for line in lines[1:]) == [
        "accounts[0].name",
        "accounts[0].region",
        "accounts[0].users[0].email",
    ]


def test_clock_freeze_advance_set(run: Run, mcapi_emulator: Emulator) -> None:
    assert "(frozen)" in ok(run("clock", "--freeze"))
    before = mcapi_emulator.clock.now()
    ok(run("clock", "--advance", "1h30m"))
    assert mcapi_emulator.clock.now() == before + 5400
    assert "2030-06-01T12:00:00" in ok(run("clock", "--set", "2030-06-01T12:00:00Z"))
    assert "(running)" in ok(run("clock", "--resume"))
    assert "emulator clock:" in ok(run("clock"))
    one_line_error(run("clock", "--set", "2030-06-01T12:00:00"), 1, "time zone")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("3d", 259200), ("1h30m", 5400),
     ("500ms", 0.5), ("1.5h", 5400)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_is_a_usage_error(run: Run) -> None:
    result = run("clock", "--advance", "soon")
    assert result.exit_code == 2
    assert "not a duration" in result.output


# ---- faults, quotas, journal -------------------------------------------------------------------


def test_faults_add_list_remove_clear(
    run: Run, call: Callable[..., httpx.Response], tmp_path: Path
) -> None:
    rule = {"match": {"path": LOGOUT, "times": 1}, "effect": {"status": 500, "sub_code": "0006"}}
    assert "fault rule f1 added" in ok(run("faults", "add", json.dumps(rule)))
    assert sub_code(call()) == "500 0006"
    assert call().status_code == 200
    listed = ok(run("faults", "list"))
    assert "f1" in listed
    assert LOGOUT in listed
    [as_json] = json.loads(ok(run("faults", "list", "--json")))
    assert (as_json["calls"], as_json["applied"]) == (2, 1)
    ok(run("faults", "remove", "f1"))
    assert "no fault rules" in ok(run("faults", "list"))
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps({"id": "slow", **rule}))
    assert "fault rule slow added" in ok(run("faults", "add", f"@{rule_file}"))
    ok(run("faults", "clear"))
    assert "no fault rules" in ok(run("faults", "list"))


def test_bad_fault_rule(run: Run) -> None:
    bad = {"match": {"path": "/api/*", "times": 0}, "effect": {"status": 500}}
    one_line_error(run("faults", "add", json.dumps(bad)), 1, "match.times")
    assert run("faults", "add", "{nope").exit_code == 2
    one_line_error(run("faults", "remove", "f99"), 1, "no rule f99")


def test_quotas_force_list_remove_clear(run: Run, call: Callable[..., httpx.Response]) -> None:
    args = ("--path", LOGOUT, "--call", "2", "--reset-ms", "1500", "--user", ADMIN)
    assert "added" in ok(run("quotas", "force", *args))
    assert call().status_code == 200
    denied = call()
    assert sub_code(denied) == "429 0008"
    assert denied.headers["x-ratelimit-reset"] == "1500"
    assert f"call 2 to {LOGOUT} by {ADMIN}" in ok(run("quotas", "list"))
    [rule] = json.loads(ok(run("quotas", "list", "--json")))
    # one engine: the forced quota is a fault rule at the rate-limit step
    [fault] = json.loads(ok(run("faults", "list", "--json")))
    assert (fault["id"], fault["at"], fault["applied"]) == (rule["id"], "quota", 1)
    one_line_error(run("quotas", "remove", "f99"), 1, "no forced quota rule f99")
    ok(run("quotas", "remove", rule["id"]))
    assert "no fault rules" in ok(run("faults", "list"))
    ok(run("quotas", "force", *args))
    ok(run("faults", "add", json.dumps({"match": {"path": "/api/*"}, "effect": {"latency_ms": 1}})))
    ok(run("quotas", "clear"))
    assert "no forced quota rules" in ok(run("quotas", "list"))
    [left] = json.loads(ok(run("faults", "list", "--json")))
    assert "at" not in left  # clearing the quotas keeps the other fault rules
    ok(run("quotas", "force", *args))
    ok(run("faults", "clear"))
    assert "no forced quota rules" in ok(run("quotas", "list"))


def test_journal_table_filters_and_jsonl(run: Run, call: Callable[..., httpx.Response]) -> None:
    assert call().status_code == 200
    assert call(access_key="nobody-at-all").status_code == 401
    table = ok(run("journal"))
    assert LOGOUT in table
    assert "401 0013" in table
    assert "binding" in table
    lines = ok(run("journal", "--jsonl")).splitlines()
    assert [json.loads(line)["status"] for line in lines] == [200, 401]
    refused = ok(run("journal", "--status", "401", "--jsonl")).splitlines()
    assert [json.loads(line)["sub_code"] for line in refused] == ["0013"]
    assert len(ok(run("journal", "--limit", "1", "--jsonl")).splitlines()) == 1
    assert "no journal entries" in ok(run("journal", "--path", "/api/none"))


def test_journal_show_prints_one_entry_in_full_without_secrets(
    run: Run, call: Callable[..., httpx.Response], mcapi_credentials: EmulatorCredentials
) -> None:
    refused = call(access_key="nobody-at-all")
    assert refused.status_code == 401
    [listed] = [json.loads(line) for line in ok(run("journal", "--jsonl")).splitlines()]
    shown = ok(run("journal", "--show", listed["id"]))
    assert f"POST {LOGOUT}" in shown
    assert "check:      binding" in shown
    assert "meaning:" in shown and "remedy:" in shown
    assert "x-mc-app-id: " + mcapi_credentials.app_id in shown
    assert "authorization: MC nobo…:[redacted]" in shown
    assert refused.request.headers["authorization"].split(":", 1)[1] not in shown
    assert '"data": []' in shown  # the request body, pretty-printed
    assert "0013" in shown
    missing = run("journal", "--show", "999999")
    assert missing.exit_code != 0
    assert "no journal entry 999999" in missing.output


def test_journal_show_escapes_the_control_characters_a_client_sent(
    run: Run, mcapi_server: str
) -> None:
    hostile = "x\x1b]0;PWNED\x07 \x1b]52;c;Y2xpcA==\x1b\\ \x9b31m \r end\ttab"
    sent = httpx.post(
        mcapi_server + LOGOUT,
        content=hostile.encode(),
        headers={"x-note": b"\x9b2J note"},  # a C1 control, sent as a header's obs-text
        timeout=10,
    )
    assert sent.status_code >= 400
    [listed] = [json.loads(line) for line in ok(run("journal", "--jsonl")).splitlines()]
    shown = ok(run("journal", "--show", listed["id"]))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", shown)
    assert "x\\x1b]0;PWNED\\x07 \\x1b]52;c;Y2xpcA==\\x1b\\ \\x9b31m \\x0d end\ttab" in shown
    assert "x-note: \\x9b2J note" in shown


def test_dashboard_prints_a_link_that_logs_in_once(run: Run, mcapi_server: str) -> None:
    link = ok(run("dashboard")).strip()
    assert link.startswith(f"{mcapi_server}/_emulator/ui/login?once=")
    with httpx.Client(timeout=10) as browser:
        assert browser.get(link).status_code == 200
        assert browser.get(f"{mcapi_server}/_emulator/ui/users").status_code == 200
    assert httpx.get(link, timeout=10).status_code == 401
    refused = run("dashboard", env={"MCAPI_ADMIN_TOKEN": "wrong"})
    assert refused.exit_code != 0


# ---- users and policy --------------------------------------------------------------------------


def test_lock_unlock(run: Run, call: Callable[..., httpx.Response]) -> None:
    assert "locked until" in ok(run("user", "lock", ADMIN, "--minutes", "5"))
    assert sub_code(call()) == "401 0010"
    ok(run("user", "unlock", ADMIN))
    assert call().status_code == 200


def test_disable_enable_expire_password(run: Run) -> None:
    assert "disabled" in ok(run("user", "disable", "reader@demo.example"))
    assert "active" in ok(run("user", "enable", "reader@demo.example"))
    assert "password expires" in ok(run("user", "expire-password", "reader@demo.example"))
    output = ok(
        run("user", "password", "reader@demo.example", input="new secret 1\nnew secret 1\n")
    )
    assert "reader@demo.example" in output


def test_binding_prints_working_keys_and_revoke(
    run: Run, call: Callable[..., httpx.Response]
) -> None:
    output = ok(run("user", "binding", ADMIN, "--ttl", "2h"))
    exports = dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in output.splitlines()
        if line.startswith("export ")
    )
    assert set(exports) == {"MCAPI_APP_ID", "MCAPI_ACCESS_KEY", "MCAPI_SECRET_KEY"}
    assert call(exports["MCAPI_ACCESS_KEY"], exports["MCAPI_SECRET_KEY"]).status_code == 200
    assert "bindings revoked" in ok(run("user", "revoke-bindings", ADMIN))
    assert sub_code(call(exports["MCAPI_ACCESS_KEY"], exports["MCAPI_SECRET_KEY"])) == "401 0012"


def test_permissions_and_ip_ranges(run: Run, call: Callable[..., httpx.Response]) -> None:
    output = ok(run("user", "permissions", "reader@demo.example", "Account | Logs | Read"))
    assert "permissions: Account | Logs | Read" in output
    assert "203.0.113.0/24" in ok(run("user", "ip-ranges", ADMIN, "203.0.113.0/24"))
    assert sub_code(call()) == "403 0016"
    assert "IP ranges: account's" in ok(run("user", "ip-ranges", ADMIN, "--inherit"))
    assert call().status_code == 200
    assert run("user", "ip-ranges", ADMIN).exit_code == 2


def test_policy(run: Run, call: Callable[..., httpx.Response]) -> None:
    output = ok(
        run("policy", "CUSA12345", "--quota-limit", "9", "--binding-ttl", "never",
            "--lockout", "10m", "--function-quota", f"{LOGOUT}=3/500")
    )  # fmt: skip
    assert "quota 9 calls" in output
    assert "bindings live forever" in output
    assert "for 600 s" in output
    assert call().headers["x-ratelimit-limit"] == "3"
    one_line_error(run("policy", "CUSA00000", "--quota-limit", "1"), 1, "no account CUSA00000")
    assert run("policy", "CUSA12345").exit_code == 2


def test_generate(run: Run) -> None:
    args = ("generate", "CUSA12345", "--seed", "2", "--users", "4", "--days", "1")
    first = ok(run(*args))
    assert first.startswith("CUSA12345: generated 4 users, ")
    messages = first.split(", ")[1]
    assert messages.endswith("messages") and int(messages.split()[0]) > 0
    again = ok(run(*args))  # the same options give the same data; the people exist already
    assert again.startswith("CUSA12345: generated 0 users, ") and messages in again
    assert "siem files" in again
    one_line_error(run("generate", "CUSA00000"), 1, "no account CUSA00000")
    assert run("generate", "CUSA12345", "--users", "0").exit_code == 2
    assert run("generate", "CUSA12345", "--days", "31").exit_code == 2


def test_seed_file_with_generated_data(run: Run, tmp_path: Path) -> None:
    seed = tmp_path / "generated.toml"
    seed.write_text(
        '[[accounts]]\ncode = "CUSA55556"\nname = "G"\ndomains = ["g.example"]\n'
        "[accounts.generate]\nusers = 3\ndays = 1\n"
    )
    output = ok(run("seed", str(seed)))
    assert "generated data for CUSA55556: 3 users, " in output
    bad = tmp_path / "bad.toml"
    bad.write_text(seed.read_text().replace("users = 3", "users = 6000").replace("55556", "55557"))
    one_line_error(run("seed", str(bad)), 1, "accounts[0].generate.users: must be between 1")


# ---- serve -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """``mcapi emulator serve`` in a subprocess, its output read line by line."""

    def __init__(self, *args: str, cwd: Path, admin_token: str | None = None) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("MCAPI_ADMIN_TOKEN", None)
        if admin_token is not None:
            env["MCAPI_ADMIN_TOKEN"] = admin_token
        argv = [sys.executable, "-c", "from mcapi.cli import main; main()", "emulator", "serve"]
        self.process = subprocess.Popen(
            [*argv, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.output: list[str] = []

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_until(self, fragment: str, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.output.append(line)
            if fragment in line:
                return self.output
        raise AssertionError(f"no {fragment!r} in the output:\n" + "\n".join(self.output))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.read_until("stopped", timeout=5)
        return code


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str, admin_token: str | None = None) -> Served:
        served = Served(*args, cwd=tmp_path, admin_token=admin_token)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(timeout=10)


def exports(lines: list[str]) -> dict[str, str]:
    found = [line.removeprefix("export ") for line in lines if line.startswith("export ")]
    return dict(item.split("=", 1) for item in found)


HOLD_LIST = "/api/gateway/get-hold-message-list"
DISCOVER = "/api/login/discover-authentication"


def signed_post(
    env: dict[str, str], path: str, data: list[dict[str, object]], **headers: str
) -> httpx.Response:
    """A signed call with the keys ``serve --demo`` printed, on the wall clock (as a user's)."""
    sent = signed_headers(
        access_key=env["MCAPI_ACCESS_KEY"], secret_key=env["MCAPI_SECRET_KEY"],
        app_id=env["MCAPI_APP_ID"], app_key=env["MCAPI_APP_KEY"], path=path,
        date=format_date(time.time()), request_id=new_request_id(),
    )  # fmt: skip
    sent.update(headers)
    return httpx.post(env["MCAPI_BASE_URL"] + path, json={"data": data}, headers=sent, timeout=10)


def bearer_post(env: dict[str, str], path: str, data: list[dict[str, object]]) -> httpx.Response:
    """An API 2.0 call with the client id and secret ``serve --demo`` printed."""
    form = {
        "client_id": env["MCAPI_CLIENT_ID"], "client_secret": env["MCAPI_CLIENT_SECRET"],
        "grant_type": "client_credentials",
    }  # fmt: skip
    token = httpx.post(env["MCAPI_BASE_URL"] + "/oauth/token", data=form, timeout=10)
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.post(env["MCAPI_BASE_URL"] + path, json={"data": data}, headers=bearer, timeout=10)


def discover(env: dict[str, str], **headers: str) -> str:
    """The region API URL discovery answers for the demo administrator."""
    sent = {
        "x-mc-app-id": env["MCAPI_APP_ID"],
        "x-mc-date": format_date(time.time()),
        "x-mc-req-id": new_request_id(),
        **headers,
    }
    body = {"data": [{"emailAddress": ADMIN}]}
    response = httpx.post(env["MCAPI_BASE_URL"] + DISCOVER, json=body, headers=sent, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["region"]["api"])


def admin_post(env: dict[str, str], path: str, body: object) -> httpx.Response:
    bearer = {"Authorization": f"Bearer {env['MCAPI_ADMIN_TOKEN']}"}
    response = httpx.post(f"{env['MCAPI_BASE_URL']}/_emulator{path}", json=body, headers=bearer)
    assert response.status_code == 200, response.text
    return response


def test_serve_demo_restart_keeps_credentials(
    serving: Callable[..., Served], tmp_path: Path
) -> None:
    (tmp_path / "acme.toml").write_text(SEED_TOML)
    port = str(free_port())
    first = serving("--demo", "--port", port, "--seed", "acme.toml")
    output = first.read_until("former@demo.example")
    env = exports(output)
    assert env["MCAPI_BASE_URL"] == f"http://127.0.0.1:{port}"
    assert set(env) == {
        "MCAPI_BASE_URL", "MCAPI_APP_ID", "MCAPI_APP_KEY", "MCAPI_ACCESS_KEY",
        "MCAPI_SECRET_KEY", "MCAPI_ADMIN_TOKEN", "MCAPI_CLIENT_ID", "MCAPI_CLIENT_SECRET",
    }  # fmt: skip
    assert any("seed acme.toml: loaded 1 accounts" in line for line in output)
    assert any(line.strip().startswith("admin@demo.example") for line in output)
    [link] = [line.strip() for line in output if "/_emulator/ui/login?once=" in line]
    assert link.startswith(f"http://127.0.0.1:{port}/_emulator/ui/login?once=")
    entered = httpx.get(link, timeout=10)
    assert entered.status_code == 200 and "mcapi_ui=" in entered.headers["set-cookie"]
    assert httpx.get(link, timeout=10).status_code == 401  # the banner's link works once
    first.read_until("Demo data generated (seed 1, 25 people, 3 days): 25 users, ")
    held = signed_post(env, HOLD_LIST, [{"admin": True}])
    assert held.status_code == 200 and held.json()["data"]  # data out of the box
    assert bearer_post(env, HOLD_LIST, [{"admin": True}]).json() == held.json()  # API 2.0 too
    token = env["MCAPI_ADMIN_TOKEN"]
    users = httpx.get(
        env["MCAPI_BASE_URL"] + "/_emulator/users",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["users"]
    assert {"admin@demo.example", "ops@acme.example"} <= {u["email"] for u in users}
    assert first.stop() == 0
    assert (tmp_path / "mcapi-emulator.db").exists()

    second = serving("--demo", "--port", port, "--seed", "acme.toml")
    again = second.read_until("Demo data: kept from the first start")
    assert exports(again) == env
    assert signed_post(env, HOLD_LIST, [{"admin": True}]).json() == held.json()  # not redone
    health = httpx.get(env["MCAPI_BASE_URL"] + "/_emulator/health", timeout=10)
    assert health.json()["status"] == "ok"
    assert any("already in the database, skipped" in line for line in again)
    assert second.stop() == 0


def test_serve_with_a_bad_seed_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text('[[accounts]]\ncode = "X"\nregion = 5\n')  # no name
    result = CliRunner().invoke(cli, ["emulator", "serve", "--port", "0", "--seed", "bad.toml"])
    assert result.exit_code == 2
    assert "seed not loaded: 2 problems" in result.output
    assert "\n  accounts[0].name: required" in result.output
    assert "\n  accounts[0].region: expected a non-empty string" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "mcapi-emulator.db").exists()
    result = CliRunner().invoke(cli, ["emulator", "serve", "--port", "0", "--seed", "none.json"])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_serve_on_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(
            cli, ["emulator", "serve", "--port", port, "--db", str(tmp_path / "e.db")]
        )
    one_line_error(result, 1, f"cannot listen on 127.0.0.1:{port}: the port is taken")
    assert "Traceback" not in result.output
    offered = re.search(r"pick another port: --port (\d+) \(or `make demo PORT=(\d+)`\)",
                        result.output)  # fmt: skip
    assert offered is not None and offered[1] == offered[2] != port, result.output
    assert "--port 0 for any free one" in result.output
    with socket.socket() as free:  # the port it offers was free when it said so
        free.bind(("127.0.0.1", int(offered[1])))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_passes_its_port_variable_to_serve() -> None:
    root = Path(__file__).resolve().parents[2]
    for extra, port in (([], "8787"), (["PORT=8795"], "8795")):
        # -n: print the recipe; -o: take the virtual environment as built
        done = subprocess.run(
            ["make", "-n", "-o", ".venv/.installed", "demo", *extra], cwd=root,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        [line] = [ln for ln in done.stdout.splitlines() if "emulator serve" in ln]
        assert line.split()[-4:] == ["serve", "--demo", "--port", port]


def test_serve_with_an_unreachable_redis_is_one_line() -> None:
    argv = ["emulator", "serve", "--port", "0", "--db", "sqlite://"]
    result = CliRunner().invoke(cli, [*argv, "--redis", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 1
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in result.output
    assert "Traceback" not in result.output


def test_serve_answers_its_own_url_and_ignores_forwarded_headers(
    serving: Callable[..., Served],
) -> None:
    port = str(free_port())
    served = serving("--demo", "--port", port, "--db", "sqlite://")
    env = exports(served.read_until("Demo data generated"))
    own = f"http://127.0.0.1:{port}"
    assert discover(env) == own
    assert discover(env, host="attacker.example", **{"x-forwarded-proto": "https"}) == own
    admin_post(env, f"/users/{ADMIN}/ip-ranges", {"ranges": ["203.0.113.0/24"]})
    forwarded = {"x-forwarded-for": "203.0.113.9"}
    refused = signed_post(env, LOGOUT, [], **forwarded)  # the header is not trusted
    assert sub_code(refused) == "403 0016"
    assert served.stop() == 0


def test_serve_behind_a_proxy_public_url_and_forwarded_for(
    serving: Callable[..., Served],
) -> None:
    port = str(free_port())
    served = serving(
        "--demo", "--port", port, "--db", "sqlite://",
        "--public-url", "https://mimecast-proxy.example/", "--trust-forwarded-for",
    )  # fmt: skip
    lines = served.read_until("Demo data generated")
    assert any("region API URL https://mimecast-proxy.example" in line for line in lines)
    assert any("X-Forwarded-For" in line for line in lines)
    env = exports(lines)
    assert discover(env) == "https://mimecast-proxy.example"
    admin_post(env, f"/users/{ADMIN}/ip-ranges", {"ranges": ["203.0.113.0/24"]})
    assert signed_post(env, LOGOUT, [], **{"x-forwarded-for": "203.0.113.9"}).status_code == 200
    outside = signed_post(env, LOGOUT, [], **{"x-forwarded-for": "198.51.100.1, 203.0.113.9"})
    assert sub_code(outside) == "403 0016"
    assert sub_code(signed_post(env, LOGOUT, [])) == "403 0016"  # 127.0.0.1 itself
    assert served.stop() == 0


def test_a_bad_public_url_is_a_usage_error() -> None:
    argv = ["emulator", "serve", "--port", "0", "--db", "sqlite://", "--public-url", "proxy:8080"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2
    assert "expected http(s)://HOST[:PORT][/PATH]" in result.output


def test_reset_then_restart_keeps_the_admin_token(
    serving: Callable[..., Served], tmp_path: Path
) -> None:
    port = str(free_port())
    first = serving("--demo", "--port", port)
    env = exports(first.read_until("Demo data generated"))
    environment = {k: env[k] for k in ("MCAPI_BASE_URL", "MCAPI_ADMIN_TOKEN")}
    result = CliRunner().invoke(cli, ["emulator", "reset"], env=environment)
    assert "emulator reset" in ok(result)
    assert first.stop() == 0
    second = serving("--demo", "--port", port)
    again = exports(second.read_until("Demo data generated"))  # a new demo tenant, new data
    assert again["MCAPI_ADMIN_TOKEN"] == env["MCAPI_ADMIN_TOKEN"]
    assert again["MCAPI_ACCESS_KEY"] != env["MCAPI_ACCESS_KEY"]
    assert "no fault rules" in ok(
        CliRunner().invoke(cli, ["emulator", "faults", "list"], env=environment)
    )
    assert second.stop() == 0


@pytest.mark.parametrize(("skew_clock", "after_advance"), [(None, "200"), ("emulator", "401 0004")])
def test_serve_skew_clock(
    serving: Callable[..., Served], skew_clock: str | None, after_advance: str
) -> None:
    """By default a served emulator measures x-mc-date against the wall clock: a call signed with
    it passes after the emulator clock moved 3 days; ``--skew-clock emulator`` refuses it."""
    port = str(free_port())
    extra = ["--skew-clock", skew_clock] if skew_clock else []
    served = serving("--demo", "--port", port, "--db", "sqlite://", *extra)
    env = exports(served.read_until("Demo data generated"))
    admin_post(env, "/clock", {"advance": 3 * 86400})
    answer = signed_post(env, ACCOUNT, [])
    assert (str(answer.status_code) if answer.status_code == 200 else sub_code(answer)) == (
        after_advance
    )
    assert served.stop() == 0


def test_serve_help_names_the_skew_clock() -> None:
    result = CliRunner().invoke(cli, ["emulator", "serve", "--help"])
    assert "--skew-clock [wall|emulator|either]" in result.output


def test_serve_request_timeout_and_max_connections(serving: Callable[..., Served]) -> None:
    port = free_port()
    served = serving(
        "--port", str(port), "--db", "sqlite://", "--request-timeout", "0.5",
        "--max-connections", "1",
    )  # fmt: skip
    served.read_until("Paste into your shell")
    request = (
        b"POST /api/account/get-account HTTP/1.1\r\nHost: emulator\r\n"
        b'Content-Length: 12\r\n\r\n{"data": []}'
    )
    with socket.create_connection(("127.0.0.1", port), timeout=20) as first:
        first.sendall(request)
        assert first.recv(65536).startswith(b"HTTP/1.1 400 ")
        with socket.create_connection(("127.0.0.1", port), timeout=20) as second:
            second.sendall(request)
            assert second.recv(65536).startswith(b"HTTP/1.1 503 ")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as silent:
        answer = silent.recv(65536)  # nothing sent: the request timeout closes it
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"err_request_timeout" in answer
    assert served.stop() == 0


def test_serve_takes_the_admin_token_from_a_file(
    serving: Callable[..., Served], tmp_path: Path
) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text("token-from-a-file-0123\n", encoding="utf-8")
    served = serving("--port", str(free_port()), "--db", "sqlite://", "--admin-token-file",
                     str(token_file))  # fmt: skip
    env = exports(served.read_until("MCAPI_ADMIN_TOKEN"))
    assert env["MCAPI_ADMIN_TOKEN"] == "token-from-a-file-0123"
    journal = f"{env['MCAPI_BASE_URL']}/_emulator/journal"
    bearer = {"Authorization": "Bearer token-from-a-file-0123"}
    assert httpx.get(journal, headers=bearer).status_code == 200
    assert httpx.get(journal, headers={"Authorization": "Bearer other"}).status_code == 401
    assert served.stop() == 0


def test_serve_takes_the_admin_token_from_the_environment(serving: Callable[..., Served]) -> None:
    served = serving("--port", str(free_port()), "--db", "sqlite://",
                     admin_token="token-from-the-env-4567")  # fmt: skip
    env = exports(served.read_until("MCAPI_ADMIN_TOKEN"))
    assert env["MCAPI_ADMIN_TOKEN"] == "token-from-the-env-4567"
    assert "token-from-the-env-4567" not in " ".join(served.process.args)  # not in `ps`
    journal = f"{env['MCAPI_BASE_URL']}/_emulator/journal"
    bearer = {"Authorization": "Bearer token-from-the-env-4567"}
    assert httpx.get(journal, headers=bearer).status_code == 200
    assert httpx.get(journal, headers={"Authorization": "Bearer other"}).status_code == 401
    assert served.stop() == 0


def test_serve_warns_when_listening_beyond_loopback_without_tls(
    serving: Callable[..., Served],
) -> None:
    served = serving("--host", "0.0.0.0", "--port", str(free_port()), "--db", "sqlite://")
    lines = served.read_until("Paste into your shell")
    assert any("without TLS" in line for line in lines)
    assert served.stop() == 0


def test_serve_with_tls_answers_https_and_does_not_warn(
    serving: Callable[..., Served], tmp_path: Path
) -> None:
    from tests.emulator.test_served_tls import self_signed

    tls = self_signed(tmp_path)
    port = free_port()
    served = serving("--port", str(port), "--db", "sqlite://", "--tls-cert", str(tls.cert),
                     "--tls-key", str(tls.key))  # fmt: skip
    lines = served.read_until("Paste into your shell")
    assert not any("without TLS" in line for line in lines)
    env = exports(served.read_until("MCAPI_ADMIN_TOKEN"))
    assert env["MCAPI_BASE_URL"] == f"https://127.0.0.1:{port}"
    trusted = ssl.create_default_context(cafile=str(tls.cert))
    health = httpx.get(f"{env['MCAPI_BASE_URL']}/_emulator/health", verify=trusted, timeout=10)
    assert health.status_code == 200
    assert served.stop() == 0


def test_serve_tls_needs_both_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used", encoding="utf-8")
    argv = ["emulator", "serve", "--port", "0", "--db", "sqlite://", "--tls-cert", str(cert)]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2
    assert "--tls-cert and --tls-key go together" in result.output


def test_journal_follow_prints_each_call_once_even_when_they_look_alike(
    run: Run, mcapi_server: str, mcapi_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a frozen clock two calls without a request id to the same path get the same time,
    path and status: --follow tells them apart by the entry's id. Its one-second pause between
    polls is where the test makes the next call (and then presses Ctrl-C)."""
    from mcapi.cli import _emulator_cmd

    mcapi_emulator.clock.freeze()
    pauses: list[float] = []

    def unsigned() -> None:
        assert httpx.post(mcapi_server + LOGOUT, json={"data": []}, timeout=10).status_code >= 400

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            unsigned()  # the same call again, between two polls
        elif len(pauses) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(_emulator_cmd, "time", type("Time", (), {"sleep": staticmethod(pause)}))
    unsigned()
    result = run("journal", "--follow", "--jsonl")
    assert result.exit_code == 130 and "mcapi: interrupted" in result.stderr, result.output
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["path"], e["request_id"]) for e in entries] == [(LOGOUT, None)] * 2, result.output
    assert entries[0]["time"] == entries[1]["time"] and entries[0]["id"] != entries[1]["id"]
