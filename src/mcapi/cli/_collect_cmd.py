"""``mcapi collect``: pull SIEM files, audit events and TTP logs into JSONL, a pipe or Splunk HEC.

``mcapi collect siem audit --output DIR`` collects those streams into ``DIR/<stream>.jsonl`` with
checkpoints in ``DIR/.checkpoints`` (or ``--state``: a directory, or a PostgreSQL URL when several
collectors share the work), until every stream is caught up; ``--follow`` keeps polling.
``mcapi collect status --output DIR`` prints each stream's checkpoint, lag and last error.
Credentials are read as ``mcapi call`` reads them. docs/collect.md is the guide.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from mcapi._errors import MimecastError
from mcapi.cli._advice import Context, advice_for
from mcapi.cli._client_cmd import exit_code_for
from mcapi.cli._sources import resolve
from mcapi.client import Client, CredentialsError
from mcapi.collect import (
    STREAMS,
    CheckpointStore,
    CollectEvent,
    Collector,
    DirectorySink,
    FileCheckpoints,
    HecSink,
    LeaseLost,
    PostgresCheckpoints,
    Sink,
    SinkError,
    StdoutSink,
    StreamStats,
    make_source,
)

__all__ = ["COLLECT_EXIT_CODES", "collect"]

logger = logging.getLogger("mcapi.collect")

#: Exit codes of ``mcapi collect`` beyond those of ``mcapi call`` (0-9).
COLLECT_EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (0, "ok", "every stream caught up (or stopped cleanly on SIGINT/SIGTERM)"),
    (1, "local", "no credentials, or an unexpected error in the collector"),
    (2, "usage", "the command line is wrong"),
    (4, "refused", "the platform refused a request, e.g. err_audit_siem_invalid_token"),
    (5, "forbidden", "the user may not read a stream: 403"),
    (6, "auth", "authentication failed or the binding expired and cannot be renewed"),
    (7, "quota", "the quota stayed spent after waiting: 429"),
    (8, "server", "the platform kept failing: 5xx"),
    (9, "network", "no usable answer: connection refused, reset, or timed out"),
    (10, "sink", "the sink kept refusing records (disk, HEC receiver)"),
    (11, "lease", "another collector took the stream over"),
)

_EPILOG = "\b\nExit codes (the first stream that failed decides):\n" + "\n".join(
    f"  {c:>2}  {name:<9} {text}" for c, name, text in COLLECT_EXIT_CODES
)


def _exit_code(error: BaseException | None) -> int:
    if error is None:
        return 0
    if isinstance(error, MimecastError):
        return exit_code_for(error)
    if isinstance(error, SinkError):
        return 10
    if isinstance(error, LeaseLost):
        return 11
    return 1


def _store(output: Path, state: str | None, lease: float = 60.0) -> CheckpointStore:
    if state and state.startswith(("postgresql", "postgres:")):
        url = state.replace("postgres://", "postgresql+psycopg://", 1)
        if url.startswith("postgresql://"):
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        return PostgresCheckpoints(url, lease_seconds=lease)
    return FileCheckpoints(Path(state) if state else output / ".checkpoints")


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return time.time() - int(text[:-1]) * units[text[-1]]
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            "give an ISO time (2026-11-24T00:00:00Z) or an age (7d, 12h)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _log_line(event: CollectEvent) -> None:
    level = logging.ERROR if event.kind in ("error", "quarantine") else logging.INFO
    logger.log(level, "%s %s: %s", event.stream, event.kind, event.message)


def _table(stats: Mapping[str, StreamStats]) -> Any:
    """The live display: a row per stream. A wait in progress (for the quota, before a retry,
    until the next poll) says why and counts down."""
    from rich.filesize import decimal
    from rich.table import Table

    table = Table(title="mcapi collect", expand=False)
    for column in ("stream", "records", "files/pages", "rate/s", "quota left", "state", "waits"):
        table.add_column(column, justify="right" if column[0] in "rfq" else "left")
    now = time.monotonic()
    for s in stats.values():
        state = "error" if s.error else ("caught up" if s.caught_up else "collecting")
        waits = f"{s.quota_waits + s.client_retries + s.batch_retries}"
        left = s.wait_left(now)
        if s.last_wait and left > 0 and not s.error:
            waits += f" ({s.last_wait[:60]}: {left:.0f} s left)"
        elif s.last_wait:
            waits += f" ({s.last_wait[:50]})"
        units = f"{s.units} {s.unit}"
        if s.unit == "files":
            units += f", {decimal(s.bytes)}"
        table.add_row(
            s.stream,
            str(s.written),
            units,
            f"{s.rate():.0f}",
            "-" if s.quota_remaining is None else str(s.quota_remaining),
            state,
            waits,
        )
    return table


def _status(output: Path, state: str | None, as_json: bool) -> None:
    store = _store(output, state)
    try:
        checkpoints = store.all()
    finally:
        store.close()
    now = time.time()
    rows = []
    for name, cp in checkpoints.items():
        where = cp.get("state") or {}
        position = where.get("token") or (
            datetime.fromtimestamp(float(where["since"]), UTC).isoformat()
            if "since" in where
            else None
        )
        when = cp.get("position_time")
        rows.append(
            {
                "stream": name,
                "checkpoint": position,
                "file": where.get("file"),
                "records": cp.get("records", 0),
                "quarantined": cp.get("quarantined", 0),
                "lag_seconds": None if when is None else round(max(0.0, now - float(when))),
                "updated_at": cp.get("updated_at"),
                "last_error": cp.get("last_error"),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no checkpoints yet")
        return
    for row in rows:
        lag = "unknown" if row["lag_seconds"] is None else f"{row['lag_seconds']}s"
        click.echo(
            f"{row['stream']}: {row['records']} records, lag {lag}, checkpoint "
            f"{row['checkpoint']}"
            + (f" ({row['file']})" if row["file"] else "")
            + (f", {row['quarantined']} quarantined" if row["quarantined"] else "")
            + f"; last error: {row['last_error'] or 'none'}"
        )


@click.command(epilog=_EPILOG)
@click.argument("streams", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory of the JSONL files (and of checkpoints and quarantine unless told).",
)
@click.option(
    "--state",
    help="Checkpoints: a directory (default OUTPUT/.checkpoints), or a postgresql:// URL "
    "when several collectors share the work.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["json", "key_value"]),
    default="json",
    show_default=True,
    help="SIEM fileFormat.",
)
@click.option("--compress", is_flag=True, help="Ask for zipped SIEM files.")
@click.option(
    "--sink",
    type=click.Choice(["dir", "stdout", "hec"]),
    default="dir",
    show_default=True,
    help="Where records go.",
)
@click.option("--hec-url", envvar="MCAPI_HEC_URL", help="Splunk HEC endpoint (--sink hec).")
@click.option("--hec-token", envvar="MCAPI_HEC_TOKEN", help="Splunk HEC token (--sink hec).")
@click.option("--max-bytes", type=click.IntRange(1024), default=256 * 2**20, show_default=True,
              help="Rotate a stream's file past this size.")  # fmt: skip
@click.option("--until-caught-up", "mode", flag_value="once", default=True,
              help="Stop when every stream is caught up (the default).")  # fmt: skip
@click.option("--follow", "mode", flag_value="follow", help="Keep polling at --interval.")
@click.option("--interval", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds between polls in --follow mode.")  # fmt: skip
@click.option("--since", help="Where time-window streams start without a checkpoint (ISO or 7d).")
@click.option("--margin", type=click.IntRange(0), default=300, show_default=True,
              help="Seconds each time window overlaps the previous one.")  # fmt: skip
@click.option(
    "--profile",
    help="Profile saved by `mcapi login` (else MCAPI_*, else the profile MCAPI_PROFILE names, "
    "else 'default').",
)
@click.option("--lease", type=click.FloatRange(1), default=60.0, show_default=True,
              help="PostgreSQL store: seconds a stream stays owned by a collector that stopped "
              "saving; much longer than one batch takes.")  # fmt: skip
@click.option("--commit-records", type=click.IntRange(1), default=10_000, show_default=True,
              help="Commit and checkpoint at least every N records (and 2 s).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="status: print JSON.")
@click.option("--quiet", is_flag=True, help="No progress display or log lines.")
def collect(
    streams: tuple[str, ...],
    output: Path,
    state: str | None,
    file_format: str,
    compress: bool,
    sink: str,
    hec_url: str | None,
    hec_token: str | None,
    max_bytes: int,
    mode: str,
    interval: float,
    since: str | None,
    margin: int,
    profile: str | None,
    lease: float,
    commit_records: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Collect STREAMS (siem, audit, ttp-url, ttp-attachment, ttp-impersonation) into OUTPUT;
    or `mcapi collect status -o OUTPUT`.

    Every record is written once, as JSON with its id, stream and source; a checkpoint moves
    only after the sink made the records before it durable, so a crash loses and doubles
    nothing."""
    if streams == ("status",):
        _status(output, state, as_json)
        return
    unknown = [s for s in streams if s not in STREAMS]
    if unknown:
        raise click.UsageError(f"unknown streams {unknown}; known: {', '.join(STREAMS)}")
    if sink == "hec" and not (hec_url and hec_token):
        raise click.UsageError("--sink hec needs --hec-url and --hec-token")
    try:
        found = resolve(profile)
    except CredentialsError as exc:
        click.echo(f"mcapi: {exc}", err=True)
        sys.exit(1)
    output.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "file_format": file_format, "compress": compress, "quarantine": output / "quarantine",
        "margin": margin, "since": _since(since),
    }  # fmt: skip
    sources = [make_source(name, **options) for name in dict.fromkeys(streams)]
    target: Sink
    if sink == "stdout":
        target = StdoutSink()
    elif sink == "hec":
        assert hec_url and hec_token
        target = HecSink(hec_url, hec_token)
    else:
        target = DirectorySink(output, max_bytes=max_bytes)
    live = not quiet and sys.stderr.isatty()
    if not quiet and not live:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise here
    store = _store(output, state, lease)
    collector = Collector(
        sources, target, store, follow=mode == "follow", interval=interval,
        listener=None if quiet or live else _log_line, lease_poll=min(5.0, lease / 4),
        commit_records=commit_records,
    )  # fmt: skip
    previous = {
        number: signal.signal(number, lambda *_: collector.stop())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with Client(found.credentials, event_hook=collector.on_attempt) as client:
            worker = threading.Thread(target=collector.run, args=(client,), name="collect")
            worker.start()
            if live:
                from rich.console import Console
                from rich.live import Live

                with Live(
                    _table(collector.stats), console=Console(stderr=True), refresh_per_second=4
                ) as display:
                    while worker.is_alive():
                        worker.join(0.25)
                        display.update(_table(collector.stats))
            else:
                while worker.is_alive():
                    worker.join(0.25)
    finally:
        target.close()
        store.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
    summary = {name: s.to_dict() for name, s in collector.stats.items()}
    click.echo(json.dumps({"streams": summary}, indent=2), err=sink == "stdout")
    code = 0
    context = Context(found, found.credentials.base_url, read_only=True)
    for s in collector.stats.values():
        if s.error:
            click.echo(f"mcapi collect: {s.stream}: {s.error}", err=True)
            said = (
                advice_for(s.exit_error, context)
                if isinstance(s.exit_error, MimecastError)
                else None
            )
            if said:
                click.echo(f"mcapi collect: {s.stream}: what to do: {said}", err=True)
            code = code or _exit_code(s.exit_error)
    sys.exit(code)
