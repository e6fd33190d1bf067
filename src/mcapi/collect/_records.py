"""Records as the collector writes them, their ids, and the SIEM file parser.

Theory of operation
-------------------
Every record leaves the collector as one JSON object: ``{"id", "stream", "source", "record"}``.
``id`` is stable: the same record fetched twice (after a crash, or in two overlapping windows)
gets the same id, which is how duplicates are recognised and skipped.

* **SIEM**: ``siem:<file>:<n>``: the file's name (``Content-Disposition``; a hash of its
  ``mc-siem-token`` when the answer names no file) and the record's position in it (0-based,
  across the members of a ZIP in archive order). A file always holds the same records in the same
  order, so the pair names one record for good.
* **Audit events and impersonation logs** carry the platform's own ``id``: ``<stream>:<id>``.
* **Click and attachment logs** carry no id: ``<stream>:<hash>-<k>``, where ``hash`` is SHA-256
  of the record's canonical JSON (sorted keys) and ``k`` counts identical records before it in
  the same window. Two identical clicks in one second stay two records, and an overlapping window
  that sees them again gives them the same two ids.

The SIEM parser reads what the platform sends and what the emulator sends today: a ZIP or not;
JSON as ``{"type": "MTA", "data": [...]}`` (the top-level ``type`` is kept in ``source``) or
``{"data": [...]}`` or a bare list; key_value as lines of ``key=value`` pairs joined by ``|``,
separated by CR, LF or CR/LF, with or without ``logType`` (real files hold one log type each,
named ``receipt_...``, ``process_...``; that prefix is kept in ``source`` as ``log_type``).
The format is read from the bytes, not from what was asked for. Anything else raises
:class:`BadFile`, which the collector retries and then quarantines.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "BadFile",
    "OutRecord",
    "content_ids",
    "parse_siem_file",
    "parse_time",
    "siem_file_key",
]

_LOG_TYPE = re.compile(r"^([A-Za-z]+)_\d")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*=")


class BadFile(ValueError):
    """A SIEM file that cannot be unzipped or parsed."""


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record as it is written: its id, stream, where it came from, the record itself, and
    its event time (epoch seconds, when it has one) for lag and overlap bookkeeping."""

    id: str
    stream: str
    source: Mapping[str, Any]
    record: Mapping[str, Any]
    time: float | None = None

    def to_json(self) -> bytes:
        """One JSON line (with its newline)."""
        return orjson.dumps(
            {"id": self.id, "stream": self.stream, "source": self.source, "record": self.record},
            option=orjson.OPT_APPEND_NEWLINE,
        )


def parse_time(value: object) -> float | None:
    """Epoch seconds of a platform time (``2011-12-03T10:15:30+0000``, ISO forms too)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def siem_file_key(filename: str | None, token: str | None) -> str:
    """The part of a SIEM record id that names its file."""
    if filename:
        return filename
    return "token-" + hashlib.sha256((token or "").encode()).hexdigest()[:20]


def content_ids(stream: str, records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Ids of records that carry none: content hash plus the count of identical ones before."""
    seen: dict[str, int] = {}
    for record in records:
        digest = hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
        k = seen.get(digest, 0)
        seen[digest] = k + 1
        yield f"{stream}:{digest}-{k}"


def _members(content: bytes, filename: str | None) -> Iterator[tuple[str | None, bytes]]:
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        yield info.filename, archive.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise BadFile(f"cannot unzip: {exc}") from exc
        return
    yield filename, content


def _json_rows(body: bytes) -> tuple[str | None, list[Any]]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadFile(f"not valid JSON: {exc}") from exc
    if isinstance(doc, list):
        return None, doc
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        kind = doc.get("type")
        return (kind if isinstance(kind, str) else None), doc["data"]
    raise BadFile("JSON file without a data list")


def _kv_rows(body: bytes) -> Iterator[dict[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadFile(f"not UTF-8 text: {exc}") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if not _KEY.match(line):
            raise BadFile(f"line {number} is not key=value pairs: {line[:60]!r}")
        row: dict[str, str] = {}
        last: str | None = None
        for part in line.split("|"):
            key, sep, value = part.partition("=")
            if sep and _KEY.match(part):
                row[key] = value
                last = key
            elif last is not None:
                row[last] += "|" + part  # a value that held a "|" itself
        yield row


def parse_siem_file(
    content: bytes, *, filename: str | None, token: str | None, stream: str = "siem"
) -> list[OutRecord]:
    """Every record of a SIEM file (see the module doc); raises :class:`BadFile`."""
    key = siem_file_key(filename, token)
    out: list[OutRecord] = []
    for member, body in _members(content, filename):
        stripped = body.lstrip()
        kind: str | None = None
        rows: Iterable[Mapping[str, Any]]
        if stripped[:1] in (b"{", b"["):
            kind, listed = _json_rows(body)
            if not all(isinstance(r, dict) for r in listed):
                raise BadFile("JSON data holds something other than records")
            rows = listed
        else:
            rows = _kv_rows(body)
        name = member or filename
        match = _LOG_TYPE.match(name or "")
        source: dict[str, Any] = {"file": filename, "token": token}
        if member and member != filename:
            source["member"] = member
        if kind:
            source["type"] = kind
        if match and match.group(1).upper() != "MTA":
            source["log_type"] = match.group(1).lower()
        for row in rows:
            when = parse_time(row.get("datetime"))
            out.append(OutRecord(f"{stream}:{key}:{len(out)}", stream, source, row, when))
    return out
