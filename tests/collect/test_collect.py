"""The collector against the served emulator: every record once, checkpoints, windows, follow."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from mcapi.collect import Collector, DirectorySink, FileCheckpoints, make_source
from mcapi.collect._sources import WindowSource
from tests.collect.conftest import Tenant, read_output

AUDIT = "/api/audit/get-audit-events"


def collector(tenant: Tenant, out: Path, streams: list[str], **options: object) -> Collector:
    sources = [
        make_source(s, quarantine=out / "quarantine", clock=tenant.emu.clock.now) for s in streams
    ]
    return Collector(
        sources,
        DirectorySink(out),
        FileCheckpoints(out / ".checkpoints"),
        sleep=tenant.sleep,
        clock=tenant.emu.clock.now,
        listener=tenant.events.append,
        **options,  # type: ignore[arg-type]
    )


def run(
    tenant: Tenant, out: Path, streams: list[str], *, api2: bool = False, **options: object
) -> Collector:
    c = collector(tenant, out, streams, **options)
    with tenant.client(api2=api2, event_hook=c.on_attempt) as client:
        c.run(client)
    c.sink.close()
    return c


def reference_audit(tenant: Tenant) -> list[str]:
    """Every audit event id of the tenant, read in one call."""
    now = tenant.emu.clock.now()
    item = {
        "startDateTime": _fmt(now - 59 * 86400),
        "endDateTime": _fmt(now + 86400),
    }
    with tenant.client() as client:
        ids = [r["id"] for page in client.pages(AUDIT, [item], page_size=500) for r in page.data]
    return ids


def _fmt(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def test_every_stream_collected_once_and_a_second_run_adds_nothing(
    tenant: Tenant, tmp_path: Path
) -> None:
    first = run(tenant, tmp_path, ["siem", "audit", "ttp-url"])
    assert all(s.caught_up and s.error is None for s in first.stats.values())
    siem = read_output(tmp_path, "siem")
    audit = read_output(tmp_path, "audit")
    assert len(siem) == first.stats["siem"].records > 1000
    assert len({r["id"] for r in siem}) == len(siem)
    assert sorted(r["record"]["id"] for r in audit) == sorted(reference_audit(tenant))
    assert all(r["stream"] == "audit" and r["id"] == "audit:" + r["record"]["id"] for r in audit)
    # real file names: the log type, then the time (receipt_20191125134532478.json)
    assert re.fullmatch(r"[a-z_]+_\d{17}\.json", siem[0]["source"]["file"])
    assert siem[0]["source"]["token"]
    second = run(tenant, tmp_path, ["siem", "audit", "ttp-url"])
    assert sum(s.records for s in second.stats.values()) == 0
    assert len(read_output(tmp_path, "siem")) == len(siem)
    checkpoint = orjson.loads((tmp_path / ".checkpoints" / "siem.json").read_bytes())
    assert checkpoint["state"]["token"] and checkpoint["records"] == len(siem)


def test_api_2_0_credentials_collect_the_same_records(tenant: Tenant, tmp_path: Path) -> None:
    """The collector is the same on API 2.0 (a client id and secret, Bearer tokens): every record
    of every stream once, the same records as with a 1.0 binding, and a second run adds nothing."""
    streams = ["siem", "audit", "ttp-url"]
    on_1_0 = run(tenant, tmp_path / "1.0", streams)
    on_2_0 = run(tenant, tmp_path / "2.0", streams, api2=True)
    assert all(s.caught_up and s.error is None for s in on_2_0.stats.values())
    tokens = [e for e in tenant.emu.journal.entries(path="/oauth/token") if e.status == 200]
    assert tokens  # the 2.0 run authenticated with a token, not the binding
    for stream in streams:
        ours = read_output(tmp_path / "2.0", stream)
        assert len({r["id"] for r in ours}) == len(ours) == on_2_0.stats[stream].records
        assert sorted(r["id"] for r in ours) == sorted(
            r["id"] for r in read_output(tmp_path / "1.0", stream)
        )
        assert on_2_0.stats[stream].records == on_1_0.stats[stream].records
    again = run(tenant, tmp_path / "2.0", streams, api2=True)
    assert sum(s.records for s in again.stats.values()) == 0


def test_new_files_after_the_clock_moves_are_collected(tenant: Tenant, tmp_path: Path) -> None:
    run(tenant, tmp_path, ["siem"])
    earlier = read_output(tmp_path, "siem")
    before = len(earlier)
    tenant.emu.clock.advance(2 * 1800)  # two more half hours of SIEM files (a file per log type)
    later = run(tenant, tmp_path, ["siem"])
    assert later.stats["siem"].units >= 2 and later.stats["siem"].records > 0
    after = read_output(tmp_path, "siem")
    assert len(after) == before + later.stats["siem"].records
    old_files = {r["source"]["file"] for r in earlier}
    assert all(r["source"]["file"] not in old_files for r in after[before:])
    assert len({r["id"] for r in after}) == len(after)


def test_windows_overlap_and_events_sharing_the_boundary_second_are_kept_once(
    tenant: Tenant, tmp_path: Path
) -> None:
    """Small windows (1 hour) with a 5-minute overlap: every audit event exactly once, the ones
    stamped on a window's last second and late ones inside the margin included."""
    now = tenant.emu.clock.now()
    since = int(now - 3 * 86400)
    edge = since + 3600  # the end of the first window, inclusive
    _add_audit(tenant, [("edge-a", edge), ("edge-b", edge), ("after-edge", edge + 1)])
    source = WindowSource(window=3600, margin=300, since=since, clock=tenant.emu.clock.now)
    c = Collector(
        [source], DirectorySink(tmp_path), FileCheckpoints(tmp_path / ".cp"),
        sleep=tenant.sleep, clock=tenant.emu.clock.now,
    )  # fmt: skip
    with tenant.client() as client:
        c.run(client)
    got = [r["record"]["id"] for r in read_output(tmp_path, "audit")]
    assert sorted(got) == sorted(reference_audit(tenant))
    assert c.stats["audit"].units >= 72
    assert {"edge-a", "edge-b", "after-edge"} <= set(got)
    # an event indexed late (stamped before the last window's end, inside the margin) is
    # picked up by the next window and written once
    end = int(orjson.loads((tmp_path / ".cp" / "audit.json").read_bytes())["state"]["since"])
    _add_audit(tenant, [("late", end - 60)])
    tenant.emu.clock.advance(600)
    with tenant.client() as client:
        c2 = Collector(
            [source], DirectorySink(tmp_path), FileCheckpoints(tmp_path / ".cp"),
            sleep=tenant.sleep, clock=tenant.emu.clock.now,
        )  # fmt: skip
        c2.run(client)
    again = [r["record"]["id"] for r in read_output(tmp_path, "audit")]
    assert again.count("late") == 1 and len(again) == len(set(again)) == len(got) + 1


def _add_audit(tenant: Tenant, events: list[tuple[str, float]]) -> None:
    from mcapi.emulator._data import audit_events

    account = tenant.emu.store.find_account(tenant.demo.account_code)
    assert account is not None
    with tenant.emu.store.begin() as conn:
        for event_id, when in events:
            row = {
                "id": event_id, "account_id": account.id, "event_time": float(when),
                "audit_type": "Logon Authentication", "category": "authentication_logs",
                "user": "carla.adams@demo.example", "event_info": "test event",
            }  # fmt: skip
            conn.execute(audit_events.insert().values(**row))


def test_zipped_and_key_value_files_hold_the_same_records(tenant: Tenant, tmp_path: Path) -> None:
    """The same SIEM files asked for as JSON, zipped JSON and key_value: the same records (the
    key_value values come as text)."""
    shapes = {"json": ("json", False), "zip": ("json", True), "kv": ("key_value", False)}
    got: dict[str, list[dict[str, object]]] = {}
    for label, (file_format, compress) in shapes.items():
        out = tmp_path / label
        source = make_source("siem", file_format=file_format, compress=compress)
        c = Collector([source], DirectorySink(out), FileCheckpoints(out / ".cp"))
        with tenant.client() as client:
            c.run(client)
        got[label] = [r["record"] for r in read_output(out, "siem")]
    assert got["json"] == got["zip"]
    assert len(got["kv"]) == len(got["json"]) > 1000
    as_text = [{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in r.items()}
               for r in got["json"]]  # fmt: skip
    assert got["kv"] == as_text
