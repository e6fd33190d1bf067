"""reset, seed and generate run as jobs, off the event loop: the routes answer 202 with the job's
Location (or the result with ``?wait``), jobs run one at a time and show their progress, and a
served emulator keeps answering signed calls while a generation runs."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.cli import _admin_jobs, cli
from mcapi.cli._admin_client import AdminClient, AdminCommandError
from mcapi.cli._admin_jobs import JobDisplay, follow_job, run_job
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._data._generator import STAGES
from mcapi.emulator._jobs import Progress
from mcapi.emulator._serve import serve_in_thread
from tests.emulator.conftest import Api

ACCOUNT = "/api/account/get-account"
#: How long a test waits for a job it released: a bound on waiting, never an assertion.
PATIENCE = 120.0


@contextlib.contextmanager
def gate(emulator: Emulator) -> Iterator[threading.Event]:
    """A job that holds the emulator's job runner until the event is set: jobs accepted
    meanwhile stay queued (released on exit whatever happens)."""
    release = threading.Event()
    emulator.state.jobs.submit("gate", lambda progress: release.wait(PATIENCE))
    try:
        yield release
    finally:
        release.set()


async def job_of(api: Api, answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    location = answer.headers["location"]
    assert location == answer.json()["location"]
    return dict((await api.admin("GET", location.removeprefix("/_emulator"))).json())


async def finished(api: Api, job_id: str) -> dict[str, Any]:
    job = api.emu.state.jobs.get(job_id)
    assert job is not None
    assert await api.emu.state.jobs.wait(job, PATIENCE)
    return dict((await api.admin("GET", f"/jobs/{job_id}")).json())


pytestmark = pytest.mark.anyio


async def test_reset_answers_202_with_the_job_and_the_job_holds_the_result(api: Api) -> None:
    answer = await api.admin("POST", "/reset")
    job = await job_of(api, answer)
    assert job["kind"] == "reset"
    assert job["state"] in ("queued", "running", "done")
    done = await finished(api, job["id"])
    assert (done["state"], done["status"], done["result"]) == ("done", 200, {"reset": True})
    assert done["progress"]["done"] == done["progress"]["total"] == 2
    assert api.emu.store.find_account("CUSA12345") is None
    listed = (await api.admin("GET", "/jobs")).json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


async def test_wait_answers_the_result_itself(api: Api) -> None:
    body = {"seed": 3, "users": 4, "days": 1, "messages_per_user_day": 2}
    answer = await api.admin("POST", "/accounts/CUSA12345/generate?wait=60", body)
    assert answer.status_code == 200
    assert answer.json()["generated"]["users"] == 4


async def test_a_job_counts_the_generators_stages(api: Api) -> None:
    body = {"seed": 3, "users": 4, "days": 1, "messages_per_user_day": 2}
    job = await job_of(api, await api.admin("POST", "/accounts/CUSA12345/generate", body))
    done = await finished(api, job["id"])
    assert done["progress"] == {
        "done": len(STAGES), "total": len(STAGES), "stage": f"CUSA12345: {STAGES[-1]}",
    }  # fmt: skip
    assert done["result"]["generated"]["users"] == 4


async def test_a_refused_job_keeps_its_refusal(api: Api) -> None:
    clash = {"accounts": [{"code": "CUSA30003", "name": "C", "domains": ["c.example"],
                           "users": [{"email": "admin@demo.example"}]}]}  # fmt: skip
    job = await job_of(api, await api.admin("POST", "/seed", clash))
    done = await finished(api, job["id"])
    assert (done["state"], done["status"]) == ("failed", 400)
    assert "admin@demo.example" in done["error"]["error"]
    assert done["error"]["problems"]
    # with ?wait the route answers the refusal itself, as it always did
    again = await api.http.post(
        "/_emulator/seed?wait=60", json=clash,
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert again.status_code == 400
    assert "admin@demo.example" in again.json()["error"]
    assert api.emu.store.find_account("CUSA30003") is None


async def test_bad_input_is_refused_before_any_job(api: Api) -> None:
    bearer = {"Authorization": f"Bearer {api.creds.admin_token}"}
    refusals = [
        await api.http.post("/_emulator/accounts/CUSA12345/generate", json={"users": 0},
                            headers=bearer),
        await api.http.post("/_emulator/accounts/NOPE/generate", json={}, headers=bearer),
        await api.http.post("/_emulator/seed", json={"accounts": [{"code": "X"}]},
                            headers=bearer),
        await api.http.post("/_emulator/reset?wait=soon", headers=bearer),
        await api.http.post("/_emulator/reset?wait=7200", headers=bearer),
    ]  # fmt: skip
    assert [r.status_code for r in refusals] == [400, 404, 400, 400, 400]
    assert all(r.json()["problems"] for r in refusals)
    assert (await api.admin("GET", "/jobs")).json() == {"jobs": []}
    assert api.emu.store.find_account("CUSA12345") is not None


async def test_jobs_need_the_admin_token_and_an_unknown_job_is_404(api: Api) -> None:
    assert (await api.http.get("/_emulator/jobs")).status_code == 401
    assert (await api.http.get("/_emulator/jobs/abc")).status_code == 401
    unknown = await api.http.get(
        "/_emulator/jobs/abc", headers={"Authorization": f"Bearer {api.creds.admin_token}"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["problems"][0]["field"] == "job_id"


async def test_jobs_run_one_at_a_time_in_order(api: Api) -> None:
    body = {"seed": 5, "users": 3, "days": 1, "messages_per_user_day": 1}
    with gate(api.emu) as release:
        generate = await job_of(
            api, await api.admin("POST", "/accounts/CUSA12345/generate?wait=0", body)
        )
        reset = await job_of(api, await api.admin("POST", "/reset"))
        # held behind the gate: neither has started, so nothing is generated or emptied yet
        assert (generate["state"], reset["state"]) == ("queued", "queued")
        assert api.emu.store.find_account("CUSA12345") is not None
        release.set()
        first = await finished(api, generate["id"])
        second = await finished(api, reset["id"])
    assert first["state"] == second["state"] == "done"
    assert first["finished"] <= second["started"]
    # the reset ran after the generation: it emptied what the generation wrote
    assert api.emu.store.find_account("CUSA12345") is None


async def test_python_admin_operations_stay_synchronous(api: Api) -> None:
    """``Emulator.admin`` (and ``mcapi_admin``) run in the caller's thread, as before."""
    counts = api.emu.admin.generate("CUSA12345", seed=2, users=3, days=1)
    assert counts["users"] == 3
    assert api.emu.admin.reset() == {"reset": True}
    assert api.emu.state.jobs.jobs() == []


def test_progress_without_a_job_counts_nothing() -> None:
    progress = Progress()
    progress.add_total(3)
    progress.step("one")  # an operation called from Python reports to nobody, and works


# ---- a served emulator ---------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Emulator, EmulatorCredentials, str, Path]]:
    path = tmp_path / "jobs.db"
    emulator = Emulator(f"sqlite:///{path}", kdf_n=2**10)
    creds = emulator.load_demo()
    try:
        with serve_in_thread(emulator) as base_url:
            yield emulator, creds, base_url, path
    finally:
        emulator.close()


def signed_call(
    http: httpx.Client, creds: EmulatorCredentials, emulator: Emulator
) -> httpx.Response:
    headers = signed_headers(
        access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
        app_key=creds.app_key, path=ACCOUNT, date=format_date(emulator.clock.now()),
        request_id=new_request_id(),
    )  # fmt: skip
    return http.post(ACCOUNT, json={"data": []}, headers=headers)


@contextlib.contextmanager
def database_write_lock(path: Path) -> Iterator[None]:
    """Hold SQLite's write lock on the file: a writer waits (a generation stays ``running``),
    readers go on (WAL)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=PATIENCE)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_served_emulator_answers_signed_calls_while_a_generation_runs(
    served: tuple[Emulator, EmulatorCredentials, str, Path],
) -> None:
    emulator, creds, base_url, path = served
    bearer = {"Authorization": f"Bearer {creds.admin_token}"}
    body = {"seed": 9, "users": 400, "days": 2, "messages_per_user_day": 10}
    with httpx.Client(base_url=base_url, timeout=PATIENCE) as http:
        with database_write_lock(path):  # the generation starts, then waits to write
            accepted = http.post(
                "/_emulator/accounts/CUSA12345/generate", json=body, headers=bearer
            )
            assert accepted.status_code == 202, accepted.text
            location = accepted.headers["location"]
            job = emulator.state.jobs.get(accepted.json()["id"])
            assert job is not None
            while job.state == "queued":  # the worker picks it up at once
                time.sleep(0.01)
            assert http.get(location, headers=bearer).json()["state"] == "running"
            answered = signed_call(http, creds, emulator)
            assert answered.status_code == 200, answered.text
            assert answered.json()["data"][0]["accountCode"] == "CUSA12345"
            ready = http.get("/_emulator/ready")
            # the order a user sees: the call was answered while the job was still running
            assert http.get(location, headers=bearer).json()["state"] == "running"
        assert ready.status_code == 200
        assert job.over.wait(PATIENCE)
        done = http.get(location, headers=bearer).json()
    assert done["state"] == "done", done
    assert done["result"]["generated"]["users"] == 400


def test_the_cli_follows_a_job_until_it_is_done(
    served: tuple[Emulator, EmulatorCredentials, str, Path],
) -> None:
    emulator, creds, base_url, _ = served
    admin = AdminClient(base_url, creds.admin_token)
    shown = io.StringIO()
    with gate(emulator) as release:
        accepted = admin.send("POST", "reset")
        assert accepted.status_code == 202
        looks: list[float] = []

        def pause(seconds: float) -> None:  # the CLI's pause between looks; opens the gate
            looks.append(seconds)
            release.set()
            time.sleep(0.01)

        display = JobDisplay("reset", shown, bar=True)  # drawn as on a terminal
        result = follow_job(admin, admin.decode(accepted), display, sleep=pause)
    assert result == {"reset": True}
    drawn = shown.getvalue()
    assert "\x1b[" in drawn  # a bar redrawn in place, not lines
    assert "reset: faults, quotas, journal and clock cleared" in drawn and "2/2" in drawn
    assert looks  # it looked more than once: it followed the job
    assert emulator.store.find_account("CUSA12345") is None


def open_on_first_look(
    emulator: Emulator, release: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set ``release`` when ``GET /_emulator/jobs/ID`` first looks a job up: the CLI follows."""
    jobs = emulator.state.jobs
    lookup = functools.partial(type(jobs).get, jobs)

    def get(job_id: str) -> Any:
        release.set()
        return lookup(job_id)

    monkeypatch.setattr(jobs, "get", get)


def test_generate_draws_its_progress_on_a_terminal_and_nothing_piped(
    served: tuple[Emulator, EmulatorCredentials, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job waits behind a gate that opens when the CLI first looks at it; the CLI asks
    without a first wait, so it always follows the job (no timing involved)."""
    emulator, creds, base_url, _ = served
    monkeypatch.setattr(_admin_jobs, "FIRST_WAIT", 0.0)
    env = {"MCAPI_BASE_URL": base_url, "MCAPI_ADMIN_TOKEN": creds.admin_token}
    argv = ["emulator", "generate", creds.account_code, "--users", "5", "--days", "1"]
    runs = {}
    for name, extra in (("forced", ["--progress"]), ("piped", [])):
        with gate(emulator) as release:
            open_on_first_look(emulator, release, monkeypatch)
            runs[name] = CliRunner().invoke(cli, [*argv, *extra], env=env)
        assert release.is_set()  # it followed the job
        assert runs[name].exit_code == 0, runs[name].output
        assert runs[name].stdout.startswith(f"{creds.account_code}: generated ")
    drawn = runs["forced"].stderr
    assert "\x1b[" in drawn and f"generate {creds.account_code}: " in drawn
    # the generator's last stage, all of them counted
    assert f"{creds.account_code}: {STAGES[-1]}" in drawn
    assert f"{len(STAGES)}/{len(STAGES)}" in drawn
    assert runs["piped"].stderr == ""


def test_ctrl_c_stops_following_a_job_with_exit_130_and_names_the_job(
    served: tuple[Emulator, EmulatorCredentials, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the CLI follows a job (its pause between looks is where it lands) ends the
    command as any Ctrl-C does, naming the job, which goes on."""
    emulator, creds, base_url, _ = served
    monkeypatch.setattr(_admin_jobs, "FIRST_WAIT", 0.0)

    def pause(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_admin_jobs, "time", type("Time", (), {"sleep": staticmethod(pause)}))
    env = {"MCAPI_BASE_URL": base_url, "MCAPI_ADMIN_TOKEN": creds.admin_token}
    with gate(emulator):
        result = CliRunner().invoke(cli, ["emulator", "reset"], env=env)
    assert result.exit_code == 130, result.output
    assert "stopped following; the job goes on in the emulator: GET /_emulator/jobs/" in (
        result.stderr
    )
    assert "mcapi: interrupted" in result.stderr and "Traceback" not in result.output


def test_the_cli_reports_a_refused_job_in_words(
    served: tuple[Emulator, EmulatorCredentials, str, Path],
) -> None:
    _, creds, base_url, _ = served
    admin = AdminClient(base_url, creds.admin_token)
    clash = {"accounts": [{"code": "CUSA30003", "name": "C", "domains": ["c.example"],
                           "users": [{"email": "admin@demo.example"}]}]}  # fmt: skip
    display = JobDisplay("seed", io.StringIO(), bar=False)
    with pytest.raises(AdminCommandError) as refused:
        run_job(admin, "seed", "seed", content=json.dumps(clash).encode(),
                content_type="application/json", wait=0, display=display)  # fmt: skip
    assert "admin@demo.example" in str(refused.value)
    assert "(HTTP 400)" in str(refused.value)
