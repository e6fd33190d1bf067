"""Bad data, refusals and the response codes: quarantine, explained refusals, retries, waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.collect import Collector, DirectorySink, FileCheckpoints, make_source
from mcapi.emulator import FaultRule
from tests.collect.conftest import Tenant, cli_env, read_output

SIEM = "/api/audit/get-siem-logs"
AUDIT = "/api/audit/get-audit-events"


class CorruptingProxy(httpx.BaseTransport):
    """A middlebox between the client and the served emulator that cuts the body of the file
    named ``victim`` in half for its first ``times`` answers (the answer itself stays whole:
    a file that arrives complete but cannot be parsed)."""

    def __init__(self, victim: str, times: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.victim = victim
        self.left = times
        self.hits = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.victim not in response.headers.get("content-disposition", "") or self.left <= 0:
            return response
        self.left -= 1
        self.hits += 1
        body = response.read()
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body[: len(body) // 2])

    def close(self) -> None:
        self.inner.close()


class _BreakingBody(httpx.SyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        yield self.body[: len(self.body) // 2]
        raise httpx.ReadError("connection reset in the middle of the file")


class BreakingProxy(CorruptingProxy):
    """As :class:`CorruptingProxy`, but the connection breaks half-way through the file."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.victim not in response.headers.get("content-disposition", "") or self.left <= 0:
            return response
        self.left -= 1
        self.hits += 1
        body = response.read()
        return httpx.Response(
            response.status_code, headers=response.headers, stream=_BreakingBody(body)
        )


def _collect(
    tenant: Tenant, out: Path, streams: list[str], *,
    client_options: dict[str, object] | None = None, **options: object,
) -> Collector:  # fmt: skip
    sources = [make_source(s, quarantine=out / "quarantine", clock=tenant.emu.clock.now)
               for s in streams]  # fmt: skip
    c = Collector(
        sources, DirectorySink(out), FileCheckpoints(out / ".checkpoints"), sleep=tenant.sleep,
        clock=tenant.emu.clock.now, listener=tenant.events.append, **options,  # type: ignore[arg-type]
    )  # fmt: skip
    with tenant.client(event_hook=c.on_attempt, **(client_options or {})) as client:
        c.run(client)
    c.sink.close()
    return c


def _victim(tenant: Tenant, tmp_path: Path) -> tuple[str, int]:
    """The name of the 5th SIEM file and the number of records of an undisturbed run."""
    clean = _collect(tenant, tmp_path / "clean", ["siem"])
    records = read_output(tmp_path / "clean", "siem")
    names = list(dict.fromkeys(r["source"]["file"] for r in records))
    return names[4], clean.stats["siem"].records


def test_a_file_broken_once_is_fetched_again(tenant: Tenant, tmp_path: Path) -> None:
    victim, total = _victim(tenant, tmp_path)
    proxy = CorruptingProxy(victim, times=1)
    c = _collect(tenant, tmp_path / "out", ["siem"], client_options={"transport": proxy})
    assert proxy.hits == 1
    assert c.stats["siem"].file_retries == 1 and c.stats["siem"].quarantined == 0
    assert len(read_output(tmp_path / "out", "siem")) == total


def test_a_download_that_breaks_off_once_is_fetched_again(tenant: Tenant, tmp_path: Path) -> None:
    victim, total = _victim(tenant, tmp_path)
    proxy = BreakingProxy(victim, times=1)
    c = _collect(tenant, tmp_path / "out", ["siem"], client_options={"transport": proxy})
    assert proxy.hits == 1 and c.stats["siem"].file_retries == 1
    written = read_output(tmp_path / "out", "siem")
    assert len(written) == total == len({r["id"] for r in written})


def test_a_file_that_stays_broken_is_quarantined_and_the_stream_moves_on(
    tenant: Tenant, tmp_path: Path
) -> None:
    victim, total = _victim(tenant, tmp_path)
    proxy = CorruptingProxy(victim, times=100)
    out = tmp_path / "out"
    c = _collect(tenant, out, ["siem"], client_options={"transport": proxy})
    stats = c.stats["siem"]
    assert proxy.hits == 3  # the first try and two more, then aside
    assert stats.quarantined == 1 and stats.caught_up and stats.error is None
    written = read_output(out, "siem")
    assert victim not in {r["source"]["file"] for r in written}
    assert 0 < len(written) < total
    kept = out / "quarantine" / "siem" / victim
    meta = orjson.loads((out / "quarantine" / "siem" / f"{victim}.error.json").read_bytes())
    assert kept.exists() and meta["mc_siem_token"] and meta["requested_with_token"]
    assert "JSON" in meta["error"]
    loud = [e for e in tenant.events if e.kind == "quarantine"]
    assert len(loud) == 1 and "QUARANTINED" in loud[0].message and victim in loud[0].message
    checkpoint = orjson.loads((out / ".checkpoints" / "siem.json").read_bytes())
    assert checkpoint["quarantined"] == 1


def test_a_refused_token_is_explained_not_taken_for_the_end(tenant: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _collect(tenant, out, ["siem"])
    # a token the platform does not accept (as one whose file aged out of the 7 days kept)
    saved = out / ".checkpoints" / "siem.json"
    before = orjson.loads(saved.read_bytes())
    before["state"]["token"] = "MTo5OTk5OTk6bm90LWEtdG9rZW4"
    saved.write_bytes(orjson.dumps(before))
    runner = CliRunner()
    env = cli_env(tenant, tmp_path)
    result = runner.invoke(cli, ["collect", "siem", "-o", str(out), "--quiet"], env=env)
    assert result.exit_code == 4, result.output
    assert "err_audit_siem_invalid_token" in result.stderr
    assert "not the end of the data" in result.stderr
    assert "Start again without a token" in result.stderr  # the catalogue's remedy
    after = orjson.loads((out / ".checkpoints" / "siem.json").read_bytes())
    assert after["state"] == before["state"]  # the position did not move
    assert "err_audit_siem_invalid_token" in after["last_error"]
    status = runner.invoke(cli, ["collect", "status", "-o", str(out)], env=env)
    assert status.exit_code == 0
    assert "siem:" in status.output and "err_audit_siem_invalid_token" in status.output


def test_transient_failures_are_retried_and_counted(tenant: Tenant, tmp_path: Path) -> None:
    _, total = _victim(tenant, tmp_path)
    tenant.fault({"match": {"path": SIEM, "call_number": 3, "times": 2},
                  "effect": {"status": 500, "sub_code": "0006"}})  # fmt: skip
    tenant.fault({"match": {"path": SIEM, "call_number": 8, "times": 1},
                  "effect": {"transport": "reset"}})  # fmt: skip
    tenant.fault({"match": {"path": SIEM, "call_number": 12, "times": 1},
                  "effect": {"transport": "truncated"}})  # fmt: skip
    tenant.emu.faults.add(FaultRule.forced_quota(SIEM, call_number=20, reset_ms=1500))
    out = tmp_path / "out"
    c = _collect(tenant, out, ["siem"])
    stats = c.stats["siem"]
    assert stats.error is None and stats.caught_up
    assert stats.client_retries >= 4 and stats.quota_waits == 1
    assert 1.5 in tenant.sleeps  # the quota wait is X-RateLimit-Reset
    written = read_output(out, "siem")
    assert len(written) == total == len({r["id"] for r in written})


def test_the_client_giving_up_leads_to_a_batch_retry(tenant: Tenant, tmp_path: Path) -> None:
    _, total = _victim(tenant, tmp_path)
    # more 500s in a row than the client's 4 attempts: the collector fetches the batch again
    tenant.fault({"match": {"path": SIEM, "call_number": 2, "times": 6},
                  "effect": {"status": 500, "sub_code": "0006"}})  # fmt: skip
    c = _collect(tenant, tmp_path / "out", ["siem"])
    assert c.stats["siem"].batch_retries >= 1 and c.stats["siem"].error is None
    assert len(read_output(tmp_path / "out", "siem")) == total


def test_a_binding_expiring_mid_run_is_refreshed(tenant: Tenant, tmp_path: Path) -> None:
    _, total = _victim(tenant, tmp_path)
    tenant.fault({"match": {"path": SIEM, "call_number": 5, "times": 1},
                  "effect": {"status": 418, "sub_code": "0001"}})  # fmt: skip
    c = _collect(tenant, tmp_path / "out", ["siem"], client_options={"password": True})
    assert c.stats["siem"].refreshes == 1 and c.stats["siem"].error is None
    assert len(read_output(tmp_path / "out", "siem")) == total


@pytest.mark.parametrize(
    ("effect", "code", "words", "advice"),
    [
        ({"status": 418, "sub_code": "0001"}, 6, "418", "log in again with `mcapi login`"),
        ({"status": 403, "sub_code": "0002"}, 5, "403", "lacks the function's permission"),
    ],
)
def test_stop_class_codes_end_the_stream_with_the_remedy(
    tenant: Tenant, tmp_path: Path, effect: dict[str, object], code: int, words: str, advice: str
) -> None:
    """No password to refresh with, or no permission: the audit stream stops with the
    catalogue's remedy, the command line's advice and its exit code; the SIEM stream still
    completes."""
    tenant.fault({"match": {"path": AUDIT}, "effect": effect})
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["collect", "siem", "audit", "-o", str(out), "--quiet"], env=cli_env(tenant, tmp_path)
    )
    assert result.exit_code == code, result.output
    assert "audit:" in result.stderr and "Remedy:" in result.stderr and words in result.stderr
    assert "audit: what to do: " in result.stderr and advice in result.stderr
    assert len(read_output(out, "siem")) > 1000
    assert (
        not (out / ".checkpoints" / "audit.json").exists()
        or orjson.loads((out / ".checkpoints" / "audit.json").read_bytes()).get("state") is None
    )
