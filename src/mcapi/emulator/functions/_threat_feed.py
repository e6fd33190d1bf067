"""The files of the threat-intelligence feed: CSV or STIX 2.0, optionally zipped, and their tokens.

A file lists indicators (``threat_indicators`` rows) oldest first. STIX files are one bundle with,
per indicator, a ``malware`` object named after the message's subject, an ``indicator`` whose
pattern is the file's SHA-256, and the ``relationship`` (``indicates``) between them, as in the
files public collectors parse. CSV files are ``|``-separated with a header line and no trailing
newline; a file name holding ``|`` is quoted. Object ids are derived from the row, so the same
indicator has the same ids in every download.

A token names the last indicator of the file it came with: ``base64url(check + JSON[account,
feed, created, seq])``, so the next file is "the indicators after that one" (keyset order), which
indicators added meanwhile never shift.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CSV_COLUMNS",
    "decode_token",
    "encode_token",
    "file_name",
    "render",
]

CSV_COLUMNS = (
    "Timestamp", "SenderAddress", "RecipientAddress", "Subject", "FileName", "FileType", "MD5",
    "SHA256",
)  # fmt: skip


def _check(body: bytes) -> bytes:
    return hashlib.sha256(b"mcapi-threat-feed:" + body).digest()[:6]


def encode_token(account_id: int, feed_type: str, created: float, seq: int) -> str:
    body = json.dumps([account_id, feed_type, created, seq], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_check(body) + body).decode().rstrip("=")


def decode_token(token: str, account_id: int, feed_type: str) -> tuple[float, int] | None:
    """``(created, seq)`` of the indicator a token names, or None when it is not a token of this
    account's feed of this type."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        check, body = raw[:6], raw[6:]
        if check != _check(body):
            return None
        account, feed, created, seq = json.loads(body)
    except (binascii.Error, ValueError, TypeError):
        return None
    if account != account_id or feed != feed_type:
        return None
    if not isinstance(created, int | float) or isinstance(created, bool):
        return None
    if not isinstance(seq, int) or isinstance(seq, bool):
        return None
    return float(created), seq


def _stamp(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def file_name(feed_type: str, file_type: str, first: float, *, compress: bool) -> str:
    """``malware_customer_stix_20211028161801144.stix``: feed, format and the first indicator's
    time to the millisecond (the form real downloads carry); ``.zip`` when compressed."""
    ext = "zip" if compress else file_type
    return f"{feed_type}_{file_type}_{_stamp(first)}.{ext}"


def _iso_ms(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _uid(kind: str, row: Any) -> str:
    digest = hashlib.sha256(f"{kind}:{row.account_id}:{row.feed_type}:{row.seq}".encode()).digest()
    return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"


def _stix(rows: Sequence[Any], bundle_id: str) -> bytes:
    objects: list[dict[str, Any]] = []
    for row in rows:
        when = _iso_ms(row.created)
        malware, indicator = _uid("malware", row), _uid("indicator", row)
        common = {"created": when, "modified": when}
        objects += [
            {"type": "malware", "id": malware, **common, "name": row.subject or row.filename,
             "labels": ["virus"]},
            {"type": "indicator", "id": indicator, **common, "labels": ["malicious-activity"],
             "pattern": f"[file:hashes.'SHA-256' = '{row.sha256}']", "valid_from": when},
            {"type": "relationship", "id": _uid("relationship", row), **common,
             "relationship_type": "indicates", "source_ref": indicator, "target_ref": malware},
        ]  # fmt: skip
    bundle = {
        "type": "bundle",
        "id": bundle_id,
        "spec_version": "2.0",
        "objects": objects,
    }
    return json.dumps(bundle, separators=(",", ":")).encode()


def _csv_value(value: str) -> str:
    text = value.replace("\r", " ").replace("\n", " ")
    if "|" in text or '"' in text:
        return '"' + text.replace('"', "'") + '"'
    return text


def _csv(rows: Sequence[Any]) -> bytes:
    lines = ["|".join(CSV_COLUMNS)]
    for row in rows:
        created = datetime.fromtimestamp(row.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        values = (
            created, row.sender, row.recipient, row.subject, row.filename, row.file_type,
            row.md5, row.sha256,
        )  # fmt: skip
        lines.append("|".join(_csv_value(str(v)) for v in values))
    return "\n".join(lines).encode()


def render(
    rows: Sequence[Any], account_id: int, feed_type: str, file_type: str, *, when: float,
    compress: bool,
) -> bytes:  # fmt: skip
    """The bytes of one file of ``rows`` (none: an empty bundle, or the CSV header alone);
    ``when`` is the file's time (its first indicator's)."""
    if file_type == "stix":
        seed = f"bundle:{account_id}:{feed_type}:{when}:{len(rows)}".encode()
        bundle_id = f"bundle--{uuid.UUID(bytes=hashlib.sha256(seed).digest()[:16], version=4)}"
        body = _stix(rows, bundle_id)
    else:
        body = _csv(rows)
    if not compress:
        return body
    out = io.BytesIO()
    member = file_name(feed_type, file_type, when, compress=False)
    stamp = datetime.fromtimestamp(when, tz=UTC).timetuple()[:6]
    with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, body)
    return out.getvalue()
