"""What ``mcapi`` says when a command fails: advice in command-line terms (the command to run,
the variable to check, the URL it tried, the permission missing), and the exit codes of
interruption and usage errors. Against an emulator on a loopback socket."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi._codes import catalogue
from mcapi._errors import api_error
from mcapi.cli import cli
from mcapi.cli._advice import Context, _values, advice_for, advice_table
from mcapi.cli._sources import Resolved
from mcapi.client._credentials import Credentials, OAuthCredentials
from mcapi.emulator._faults import FaultRule

from .conftest import ACCOUNT, Live
from .test_cli_credentials import BLANK, env_1_0, save_profile

PERMIT = "/api/managedsender/permit-or-block-sender"
BLOCK = '{"sender": "a@b.example", "to": "reader@demo.example", "action": "block"}'
#: What library advice looks like: a keyword argument or a class to build.
PYTHON_TERMS = re.compile(r"\w+=(True|False|\.\.\.)|\w+=\s|RetryPolicy|Client\.|Client\(")


@pytest.fixture
def base(tmp_path: Path) -> dict[str, str]:
    return {**BLANK, "MCAPI_CONFIG": str(tmp_path / "profiles.toml")}


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def said(result: Any) -> tuple[str, str]:
    """(the advice in the JSON on stdout, the stderr line); neither in Python terms."""
    advice = json.loads(result.stdout)["error"]["advice"]
    assert not PYTHON_TERMS.search(advice), advice
    assert not PYTHON_TERMS.search(result.stderr), result.stderr
    return advice, result.stderr


def test_403_0002_names_the_missing_permission_and_the_login_to_run(
    base: dict[str, str], live: Live
) -> None:
    _, demo, _ = live
    save_profile(base, live, "reader")
    result = run(base, "call", PERMIT, "--data", BLOCK, "--profile", "reader")
    assert result.exit_code == 5, result.output
    advice, stderr = said(result)
    assert "lacks Gateway | Managed Senders | Edit" in advice
    assert f"The user {demo.reader_email}" in advice
    assert "`mcapi login --profile reader`" in advice
    assert advice in stderr and "Grant the function's permission" not in stderr


def test_403_0002_of_an_api_2_0_application_names_its_role(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    keys = emulator.admin.create_app(
        demo.account_code, "reader app", role="Custom", permissions=["Account | Dashboard | Read"]
    )
    env = {**base, "MCAPI_BASE_URL": url, "MCAPI_CLIENT_ID": keys.client_id,
           "MCAPI_CLIENT_SECRET": keys.client_secret}  # fmt: skip
    result = run(env, "call", PERMIT, "--data", BLOCK)
    assert result.exit_code == 5, result.output
    advice, _ = said(result)
    assert "The API 2.0 application lacks Gateway | Managed Senders | Edit" in advice
    assert "application's role" in advice


def test_a_connection_error_names_the_url_it_tried(base: dict[str, str], live: Live) -> None:
    _, demo, _ = live
    env = {**base, **env_1_0(demo, "http://127.0.0.1:9")}
    result = run(env, "call", ACCOUNT, "--no-retry")
    assert result.exit_code == 9, result.output
    advice, stderr = said(result)
    assert "http://127.0.0.1:9/api/account/get-account" in advice
    assert "the MCAPI_* variables" in advice and "mcapi whoami" in advice
    assert "http://127.0.0.1:9/api/account/get-account" in stderr


def test_an_expired_binding_without_a_password_says_to_log_in_again(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, _ = live
    save_profile(base, live, "work", email=demo.admin_email)
    text = Path(base["MCAPI_CONFIG"]).read_text()
    emulator.admin.expire_binding(text.split('access_key = "')[1].split('"')[0])
    result = run(base, "call", ACCOUNT, "--profile", "work")
    assert result.exit_code == 6, result.output
    advice, stderr = said(result)
    assert "`mcapi login --profile work`" in advice
    assert "email= and password=" not in stderr and "holds no password" in stderr


def test_a_refused_signature_names_the_variables_to_check(base: dict[str, str], live: Live) -> None:
    _, demo, url = live
    env = {**base, **env_1_0(demo, url), "MCAPI_SECRET_KEY": "d3Jvbmcta2V5LXdyb25nLWtleQ=="}
    result = run(env, "call", ACCOUNT)
    assert result.exit_code == 6, result.output
    advice, _ = said(result)
    assert "MCAPI_ACCESS_KEY and MCAPI_SECRET_KEY" in advice
    assert "unsetting MCAPI_ACCESS_KEY and MCAPI_SECRET_KEY" in advice  # they win over profiles


def test_a_write_that_may_have_run_suggests_read_only_not_a_python_parameter(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    emulator.faults.add(
        FaultRule.from_dict(
            {"match": {"path": PERMIT}, "effect": {"status": 500, "sub_code": "0006"}}
        )
    )
    result = run({**base, **env_1_0(demo, url)}, "call", PERMIT, "--data", BLOCK)
    assert result.exit_code == 8, result.output
    advice, stderr = said(result)
    assert "--read-only" in advice and "may have been applied" in advice
    assert "read_only=True" not in stderr
    read = run({**base, **env_1_0(demo, url)}, "call", PERMIT, "--data", BLOCK, "--read-only",
               "--no-retry")  # fmt: skip
    assert json.loads(read.stdout)["error"]["advice"].startswith("The platform kept failing")


def test_every_advice_names_known_codes_and_fills_in() -> None:
    known = {e.label for e in catalogue().entries} | {
        e.body_code for e in catalogue().entries if e.body_code
    }
    known |= {"transport", "protocol", "credentials", "local"}
    fields = {"login", "keys", "client", "source", "who", "permission", "url", "base_url", "path"}
    for advice in advice_table():
        assert set(advice.codes) <= known, advice.codes
        used = set(re.findall(r"{(\w+)}", advice.text))
        assert used <= fields, used
        assert not PYTHON_TERMS.search(advice.text), advice.text


def test_usage_errors_exit_2(base: dict[str, str], live: Live, tmp_path: Path) -> None:
    _, demo, url = live
    env = {**base, **env_1_0(demo, url)}
    target = tmp_path / "exists.bin"
    target.write_text("keep me")
    for args in (
        ["call"],  # no PATH
        ["call", ACCOUNT, "--no-such-option"],
        ["call", ACCOUNT, "--page-size", "0"],
        ["call", ACCOUNT, "--data", "{not json"],
        ["call", ACCOUNT, "--data", "@/no/such/file.json"],
        ["call", ACCOUNT, "--data", "[1, 2]"],
        ["call", "/api/audit/get-siem-logs", "--data", '{"type": "MTA"}', "--output", str(target)],
        ["call", "api/account/get-account"],  # not a function path
        ["call", ACCOUNT, "--page-items"],  # without --all-pages
        ["call", ACCOUNT, "--overwrite"],  # without --output
        ["whoami", "--no-such-option"],
        ["explain"],
    ):
        result = run(env, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert target.read_text() == "keep me"


def _mcapi() -> list[str]:
    return [sys.executable, "-c", "from mcapi.cli import main; main()"]


def _interrupted(
    args: list[str], env: dict[str, str], ready: str
) -> subprocess.CompletedProcess[str]:
    """Run ``mcapi ARGS``, press Ctrl-C (SIGINT) once ``ready`` shows on stderr, and wait."""
    process = subprocess.Popen(
        [*_mcapi(), *args], env={**os.environ, **env}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    seen = ""
    while ready not in seen:
        char = process.stderr.read(1)
        assert char, f"mcapi ended before {ready!r}: {seen}"
        seen += char
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(args, process.returncode, stdout, seen + stderr)


def test_ctrl_c_exits_130_without_a_traceback(base: dict[str, str], live: Live) -> None:
    """At a prompt, and in the middle of a call (to a peer that accepts the connection and never
    answers)."""
    _, demo, _ = live
    env = {**base, "PYTHONPATH": os.pathsep.join(sys.path)}
    prompt = _interrupted(["login", "--app-id", "a", "--app-key", "b"], env, "Email address")
    assert prompt.returncode == 130, prompt.stderr
    assert "Traceback" not in prompt.stderr and "mcapi: interrupted" in prompt.stderr
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        calling = _interrupted(["call", ACCOUNT, "-v"], {**env, **env_1_0(demo, url)}, ACCOUNT)
    assert calling.returncode == 130, calling.stderr
    assert "Traceback" not in calling.stderr and "mcapi: interrupted" in calling.stderr


#: A command whose clean-up after Ctrl-C waits for ever (as httpcore's can: a KeyboardInterrupt
#: that lands while its pool's lock is held leaves the lock held, and the clean-up waits for it).
STUCK_COMMAND = """
import threading, click
from mcapi.cli import cli, main
held = threading.Lock()
@cli.command("stuck")
def stuck():
    held.acquire()
    try:
        click.echo("ready", err=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        held.acquire()
main()
"""


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_ends_a_command_whose_clean_up_hangs(presses: int) -> None:
    """After one Ctrl-C the command has a grace period to end by itself; a second ends it now."""
    from mcapi.cli import INTERRUPT_GRACE_SECONDS

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_COMMAND, "stuck"], env=env, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    assert process.stderr.readline() == "ready\n"
    pressed = time.monotonic()
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
    _, stderr = process.communicate(timeout=30)
    took = time.monotonic() - pressed
    assert process.returncode == 130, stderr
    assert stderr.strip() == "mcapi: interrupted"
    if presses == 1:
        assert took >= INTERRUPT_GRACE_SECONDS
    else:
        assert took < INTERRUPT_GRACE_SECONDS


def test_a_login_that_cannot_connect_names_the_url_and_the_option(base: dict[str, str]) -> None:
    env = {**base, "MCAPI_APP_ID": "app", "MCAPI_APP_KEY": "key"}
    result = CliRunner().invoke(
        cli,
        ["login", "--email", "a@demo.example", "--discovery-url", "http://127.0.0.1:9"],
        env=env,
        input="password\n",
    )
    assert result.exit_code == 9, result.output
    advice, _ = said(result)
    assert "http://127.0.0.1:9/api/login/discover-authentication" in advice
    assert "--discovery-url" in advice and "mcapi whoami" not in advice


def _login(env: dict[str, str], live: Live, email: str, password: str) -> Any:
    _, demo, url = live
    login_env = {**env, "MCAPI_APP_ID": demo.app_id, "MCAPI_APP_KEY": demo.app_key}
    return CliRunner().invoke(
        cli, ["login", "--email", email, "--discovery-url", url], env=login_env,
        input=password + "\n",
    )  # fmt: skip


def test_a_login_refused_for_its_password_says_to_check_email_and_password(
    base: dict[str, str], live: Live
) -> None:
    _, demo, _ = live
    result = _login(base, live, demo.reader_email, "not-the-password")
    assert result.exit_code == 6, result.output
    advice, _ = said(result)
    assert json.loads(result.stdout)["error"]["sub_code"] == "0003"
    assert "email address or the password" in advice
    assert "credentials in effect" not in advice


def test_a_login_to_a_domain_not_managed_says_to_check_the_address(
    base: dict[str, str], live: Live
) -> None:
    result = _login(base, live, "someone@not-managed.example", "password")
    advice, _ = said(result)
    error = json.loads(result.stdout)["error"]
    assert (error["status"], error["sub_code"]) == (404, "0003"), result.output
    assert advice == catalogue().get(404, "0003", "err_xdk_domain_not_managed").remedy  # type: ignore[union-attr]
    assert "check the path" not in advice


def test_a_disabled_user_is_not_told_to_log_in_again(base: dict[str, str], live: Live) -> None:
    _, demo, _ = live
    result = _login(base, live, demo.disabled_email, demo.passwords.get(demo.disabled_email, "x"))
    advice, _ = said(result)
    error = json.loads(result.stdout)["error"]
    assert (error["status"], error["sub_code"]) == (401, "0011"), result.output
    assert "administrator must re-enable" in advice and "log in again" not in advice


def test_a_forbidden_ip_is_not_a_missing_permission(base: dict[str, str], live: Live) -> None:
    emulator, demo, url = live
    emulator.faults.add(
        FaultRule.from_dict(
            {"match": {"path": ACCOUNT}, "effect": {"status": 403, "sub_code": "0016"}}
        )
    )
    result = run({**base, **env_1_0(demo, url)}, "call", ACCOUNT)
    advice, _ = said(result)
    assert json.loads(result.stdout)["error"]["sub_code"] == "0016", result.output
    assert "lacks" not in advice and "permitted" in advice


def test_every_sub_code_gets_its_own_advice_or_the_catalogues_remedy() -> None:
    """The advice of a status alone (403: a missing permission) never stands for a sub code
    (403 0016 Forbidden IP): an entry with a sub code gets advice keyed by that code, else none."""
    binding = Resolved(
        Credentials("https://x.example", "app", "key", "access", "c2VjcmV0"), "env", None, None,
        None,
    )  # fmt: skip
    client = Resolved(OAuthCredentials("id", "secret"), "env", None, None, None)
    contexts = [Context(), Context(read_only=True), Context(read_only=False),
                Context(binding), Context(client)]  # fmt: skip
    checked = 0
    for entry in catalogue().entries:
        if entry.sub_code is None:
            continue
        error = api_error(
            entry.status, sub_code=entry.sub_code, body_codes=(entry.body_code,)
            if entry.body_code else (), endpoint=ACCOUNT,
        )  # fmt: skip
        assert error.entry == entry
        own = [a for a in advice_table() if {entry.label, entry.body_code} & set(a.codes)]
        for context in contexts:
            advice = advice_for(error, context)
            if advice is None:
                continue
            assert any(advice == a.text.format_map(_values(error, context)) for a in own), (
                entry.label,
                advice,
            )
            checked += 1
    assert checked  # some sub codes do have advice of their own


def test_a_credentials_error_carries_advice_too(base: dict[str, str], live: Live) -> None:
    """No credentials at all, and half a set of variables: the message says what is missing, the
    advice what to run."""
    _, demo, url = live
    half = {**base, **env_1_0(demo, url), "MCAPI_SECRET_KEY": ""}
    for env, args in ((base, ["whoami"]), (half, ["call", ACCOUNT])):
        result = run(env, *args)
        assert result.exit_code == 1, result.output
        advice, stderr = said(result)
        assert "`mcapi login`" in advice and "mcapi whoami" in advice
        assert stderr.rstrip().endswith(advice)


def test_a_gateways_html_page_exits_8_after_the_retries(base: dict[str, str], live: Live) -> None:
    emulator, demo, url = live
    emulator.faults.add(
        FaultRule.from_dict({"match": {"path": ACCOUNT}, "effect": {"status": 503, "body": "html"}})
    )
    result = run({**base, **env_1_0(demo, url)}, "call", ACCOUNT, "--no-retry")
    assert result.exit_code == 8, result.output  # the server failing, as any 5xx
    error = json.loads(result.stdout)["error"]
    assert error["status"] == 503 and error["content_type"] == "text/html; charset=utf-8"
    assert "HTTP 503 text/html" in result.stderr
