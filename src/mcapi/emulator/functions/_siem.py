"""SIEM log files: produced every 30 minutes of emulator time, kept 7 days, never stored.

Theory of operation
-------------------
Time is cut into 30-minute slots (slot ``n`` covers ``[n * 1800, (n + 1) * 1800)`` epoch
seconds). An account's stream (a ``siem_streams`` row, written by the generator) has a first
slot; the file of slot ``n`` exists once the emulator clock has passed the slot's end, and is
kept while the slot ended less than 7 days ago.

A file is a pure function of the stream row and the slot number: how many messages the slot
holds comes from ``Random("siem:<seed>:<slot>")``, and the messages of each chunk of 200 from
``Random("siem:<seed>:<slot>:<chunk>")``. So any file can be produced at any time, record by
record, and is handed out in pieces of about 32 KiB, with memory bounded by one piece: a week of
a 500-user tenant is about 340 files and none of them is ever held whole in memory or written to
disk. With ``compress`` the pieces go through a streaming ZIP writer (data descriptors, no
seeking).

The token a download returns in ``mc-siem-token`` names the file just sent; the next request
with it gets the following file. A token is ``base64url("<account>:<slot>:<check>")``; one that
does not decode, names another account or a file that has aged out is refused with
``err_audit_siem_invalid_token``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcapi.emulator._data import SIEM_SLOT_SECONDS
from mcapi.emulator._data._vocab import externals, hourly_weight, mailboxes, synth_message

__all__ = [
    "KEEP_SECONDS",
    "SiemStream",
    "decode_token",
    "encode_token",
    "file_chunks",
    "file_name",
    "first_kept_slot",
    "last_produced_slot",
]

KEEP_SECONDS = 7 * 86400
_CHUNK = 200  # messages drawn from one random generator (the unit of determinism)
_OUT_BYTES = 32 * 1024  # what one piece of a streamed file holds, about
_TLS = (("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"), ("TLSv1.3", "TLS_AES_256_GCM_SHA384"))


@dataclass(frozen=True, slots=True)
class SiemStream:
    """An account's SIEM stream: what every file of it is derived from."""

    account_id: int
    account_code: str
    seed: int
    users: int
    domain: str
    start_slot: int
    messages_per_user_day: int


def last_produced_slot(now: float) -> int:
    """The newest slot whose file exists at ``now`` (its end has passed)."""
    return int(now // SIEM_SLOT_SECONDS) - 1


def first_kept_slot(now: float) -> int:
    """The oldest slot whose file is still kept at ``now``."""
    return int((now - KEEP_SECONDS) // SIEM_SLOT_SECONDS)


def _check(account_id: int, slot: int) -> str:
    return hashlib.sha256(f"siem:{account_id}:{slot}".encode()).hexdigest()[:12]


def encode_token(account_id: int, slot: int) -> str:
    raw = f"{account_id}:{slot}:{_check(account_id, slot)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, account_id: int) -> int | None:
    """The slot a token names, or None when it is not a token of this account."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        account, slot, check = raw.split(":")
        if int(account) != account_id or check != _check(account_id, int(slot)):
            return None
        return int(slot)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def file_name(slot: int, file_format: str, compress: bool) -> str:
    start = datetime.fromtimestamp(slot * SIEM_SLOT_SECONDS, tz=UTC)
    ext = "zip" if compress else ("json" if file_format == "json" else "log")
    return f"MTA_{start:%Y%m%d%H%M}.{ext}"


def _slot_messages(stream: SiemStream, slot: int) -> int:
    hour = (slot * SIEM_SLOT_SECONDS // 3600) % 24
    per_slot = stream.users * stream.messages_per_user_day * hourly_weight(hour) / 2
    jitter = random.Random(f"siem:{stream.seed}:{slot}").uniform(0.8, 1.2)
    return max(0, round(per_slot * jitter))


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _rows(stream: SiemStream, slot: int, chunk: int, total: int) -> Iterator[dict[str, Any]]:
    """The log lines of messages ``chunk * 200 ...`` of the slot: receipt, process, delivery."""
    rng = random.Random(f"siem:{stream.seed}:{slot}:{chunk}")
    people = mailboxes(stream.seed, stream.users, stream.domain)
    outside = externals(stream.seed)
    start = slot * SIEM_SLOT_SECONDS
    for k in range(chunk * _CHUNK, min(total, (chunk + 1) * _CHUNK)):
        facts = synth_message(rng, people, outside)
        t = start + (k + rng.random()) / total * SIEM_SLOT_SECONDS
        code = base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")
        tls, cipher = rng.choice(_TLS)
        common = {
            "datetime": _when(t), "aCode": code, "acc": stream.account_code,
            "Sender": facts.sender.email, "Subject": facts.subject,
            "MsgId": f"<{code[:16]}@{facts.sender.email.rpartition('@')[2]}>",
        }  # fmt: skip
        rejected = facts.status == "rejected"
        yield {
            "logType": "receipt", **common, "IP": facts.sender_ip,
            "Dir": facts.route.title(), "headerFrom": facts.sender.email,
            "Rcpt": facts.recipients[0].email, "Act": "Rej" if rejected else "Acc",
            "TlsVer": tls, "Cphr": cipher, "SpamScore": facts.spam_score, "SpamLimit": 0,
            "SpamInfo": "[]", "Error": "Envelope rejected" if rejected else "",
        }  # fmt: skip
        if rejected:
            continue
        held = facts.status == "held"
        yield {
            "logType": "process", **common, "Act": "Hld" if held else "Acc",
            "AttCnt": len(facts.attachments), "AttNames": ",".join(a[0] for a in facts.attachments),
            "AttSize": sum(a[2] for a in facts.attachments), "MsgSize": facts.size,
            "Hld": "Spam" if held else "",
        }  # fmt: skip
        if held:
            continue
        for rcpt in facts.recipients:
            yield {
                "logType": "delivery", **common, "Rcpt": rcpt.email,
                "Dir": facts.route.title(), "Delivered": facts.status == "delivered",
                "Latency": rng.randint(200, 4000), "Attempt": 1, "TlsVer": tls, "Cphr": cipher,
                "IP": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                "ReceiptAck": "250 2.6.0 Queued mail for delivery",
            }  # fmt: skip


def _kv(row: dict[str, Any]) -> str:
    return "|".join(f"{key}={_kv_value(value)}" for key, value in row.items())


def _kv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("|", "/").replace("\n", " ")


def _plain_chunks(stream: SiemStream, slot: int, file_format: str) -> Iterator[bytes]:
    """The file's bytes in pieces of about 32 KiB: records are encoded one at a time into one
    buffer, handed out whenever it fills, so memory does not grow with the file."""
    total = _slot_messages(stream, slot)
    as_json = file_format == "json"
    buffer = bytearray(b'{"data":[' if as_json else b"")
    first = True
    for chunk in range((total + _CHUNK - 1) // _CHUNK):
        for row in _rows(stream, slot, chunk, total):
            if as_json:
                if not first:
                    buffer += b","
                buffer += json.dumps(row, separators=(",", ":")).encode()
                first = False
            else:
                buffer += (_kv(row) + "\n").encode()
            if len(buffer) >= _OUT_BYTES:
                yield bytes(buffer)
                buffer.clear()
    if as_json:
        buffer += b"]}"
    if buffer:
        yield bytes(buffer)


class _Sink:
    """A write-only, unseekable file that hands out what was written (for streaming ZIP)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _zip_chunks(inner: Iterator[bytes], member: str, slot: int) -> Iterator[bytes]:
    sink = _Sink()
    when = datetime.fromtimestamp(slot * SIEM_SLOT_SECONDS, tz=UTC).timetuple()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, mode="w") as entry:
            for chunk in inner:
                entry.write(chunk)
                out = sink.drain()
                if out:
                    yield out
    tail = sink.drain()
    if tail:
        yield tail


def file_chunks(stream: SiemStream, slot: int, file_format: str, compress: bool) -> Iterator[bytes]:
    """The bytes of one file, in pieces of about 32 KiB (less once compressed)."""
    plain = _plain_chunks(stream, slot, file_format)
    if not compress:
        return plain
    return _zip_chunks(plain, file_name(slot, file_format, False), slot)
