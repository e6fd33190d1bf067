"""SIEM log files: produced every 30 minutes of emulator time, one log type per file, kept 7 days,
never stored.

Theory of operation
-------------------
Time is cut into 30-minute slots (slot ``n`` covers ``[n * 1800, (n + 1) * 1800)`` epoch
seconds). An account's stream (a ``siem_streams`` row, written by the generator) has a first
slot; the files of slot ``n`` exist once the emulator clock has passed the slot's end, and are
kept while the slot ended less than 7 days ago.

As on the platform, a file holds one log type: receipt, process, delivery, jrnl (journal), spam,
av, ttp_url, ttp_ap and ttp_ip, in that order within a slot; a slot has a file of a type only
when it has records of it (``mcapi.emulator._data._siem_plan``). The MTA types are a pure
function of the stream row and the slot: how many messages the slot holds comes from
``Random("siem:<seed>:<slot>")``, and the messages of each chunk of 200 from
``Random("siem:<seed>:<slot>:<chunk>")``; every MTA file of a slot draws the same messages and keeps
its own lines. The three TTP types are the rows of the click, attachment and impersonation tables
whose time falls in the slot, read in batches (``_siem_ttp``). So any file can be produced at any
time, record by record, and is handed out in pieces of about 32 KiB, with memory bounded by one
piece: none is ever held whole in memory or written to disk. With ``compress`` the pieces go
through a streaming ZIP writer (data descriptors, no seeking).

Shapes, as real files have them: a ``key_value`` record is ``key=value`` pairs joined by ``|``,
beginning with ``datetime=``, records separated by CR; a ``json`` file is
``{"type": "MTA", "data": [...]}``. Records carry no log-type field: the type is in the file
name, ``<type>_<YYYYMMDDHHMMSSmmm>.<log|json|zip>``.

The token a download returns in ``mc-siem-token`` names the file just sent; the next request
with it gets the following file. A token is ``base64url("<account>:<slot>:<type>:<check>")``; one
that does not decode, names another account or a file that has aged out is refused with
``err_audit_siem_invalid_token``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcapi.emulator._data._siem_plan import (
    LOG_TYPES,
    SLOT_SECONDS,
    extra_count,
    mta_present,
    slot_messages,
)
from mcapi.emulator._data._vocab import externals, mailboxes, synth_message

__all__ = [
    "KEEP_SECONDS",
    "LOG_TYPES",
    "SiemStream",
    "decode_token",
    "encode_token",
    "file_chunks",
    "file_name",
    "first_kept_slot",
    "last_produced_slot",
    "mta_records",
    "next_file",
    "stream_present",
    "when",
]

KEEP_SECONDS = 7 * 86400
_CHUNK = 200  # messages drawn from one random generator (the unit of determinism)
_OUT_BYTES = 32 * 1024  # what one piece of a streamed file holds, about
_TLS = (("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"), ("TLSv1.3", "TLS_AES_256_GCM_SHA384"))
_PUBLIC_IP = ((11, 223), (0, 255), (0, 255), (1, 254))
_RECORD_SEPARATOR = b"\r"  # as in real key_value files
_VIRUSES = ("Anomali:Phishing", "Trojan.Generic", "Emotet.Downloader", "Macro.Dropper")
_AV_FILES = (
    ("invoice.xlsm", "xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
    ("scan.zip", "zip", "application/zip"), ("document.doc", "doc", "application/msword"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SiemStream:
    """An account's SIEM stream: what every MTA file of it is derived from."""

    account_id: int
    account_code: str
    seed: int
    users: int
    domain: str
    start_slot: int
    messages_per_user_day: int


def last_produced_slot(now: float) -> int:
    """The newest slot whose files exist at ``now`` (its end has passed)."""
    return int(now // SLOT_SECONDS) - 1


def first_kept_slot(now: float) -> int:
    """The oldest slot whose files are still kept at ``now``."""
    return int((now - KEEP_SECONDS) // SLOT_SECONDS)


def _check(account_id: int, slot: int, index: int) -> str:
    return hashlib.sha256(f"siem:{account_id}:{slot}:{index}".encode()).hexdigest()[:12]


def encode_token(account_id: int, slot: int, index: int) -> str:
    raw = f"{account_id}:{slot}:{index}:{_check(account_id, slot, index)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, account_id: int) -> tuple[int, int] | None:
    """The (slot, log type index) a token names, or None when it is not a token of this
    account."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        account, slot, index, check = raw.split(":")
        if int(account) != account_id or not 0 <= int(index) < len(LOG_TYPES):
            return None
        if check != _check(account_id, int(slot), int(index)):
            return None
        return int(slot), int(index)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def file_name(slot: int, log_type: str, file_format: str, compress: bool) -> str:
    """``<type>_<YYYYMMDDHHMMSSmmm>.<ext>``: the slot's end, the milliseconds numbering the
    types so that a slot's files sort in the order they are handed out."""
    end = datetime.fromtimestamp((slot + 1) * SLOT_SECONDS, tz=UTC)
    ext = "zip" if compress else ("json" if file_format == "json" else "log")
    return f"{log_type}_{end:%Y%m%d%H%M%S}{LOG_TYPES.index(log_type):03d}.{ext}"


def next_file(
    first: tuple[int, int], last_slot: int, present: Callable[[int], Iterable[str]]
) -> tuple[int, int] | None:
    """The first file at or after ``first`` (slot, type index) up to ``last_slot``;
    ``present(slot)`` names the log types the slot has a file of."""
    slot, index = first
    while slot <= last_slot:
        kinds = set(present(slot))
        for i in range(index, len(LOG_TYPES)):
            if LOG_TYPES[i] in kinds:
                return slot, i
        slot, index = slot + 1, 0
    return None


def stream_present(stream: SiemStream, slot: int) -> list[str]:
    """The MTA log types the stream's slot has a file of."""
    return mta_present(stream.seed, stream.users, stream.messages_per_user_day, slot)


def when(epoch: float) -> str:
    """A record's ``datetime``, as real files write it."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _chunk_records(
    stream: SiemStream, slot: int, chunk: int, total: int, log_type: str
) -> Iterator[dict[str, Any]]:
    """The ``log_type`` lines of messages ``chunk * 200 ...`` of the slot. Every MTA type draws
    the same messages (and the same random numbers) and keeps its own lines."""
    rng = random.Random(f"siem:{stream.seed}:{slot}:{chunk}")
    people = mailboxes(stream.seed, stream.users, stream.domain)
    outside = externals(stream.seed)
    start = slot * SLOT_SECONDS
    for k in range(chunk * _CHUNK, min(total, (chunk + 1) * _CHUNK)):
        facts = synth_message(rng, people, outside)
        t = start + (k + rng.random()) / total * SLOT_SECONDS
        code = base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")
        tls, cipher = rng.choice(_TLS)
        msg_id = f"<{code[:16]}@{facts.sender.email.rpartition('@')[2]}>"
        head = {"datetime": when(t), "aCode": code, "acc": stream.account_code}
        rejected = facts.status == "rejected"
        direction = facts.route.title()
        if log_type == "receipt":
            yield {
                **head, "SpamLimit": 0, "IP": facts.sender_ip, "Dir": direction,
                "Subject": facts.subject, "headerFrom": facts.sender.email,
                "Sender": facts.sender.email, "Rcpt": facts.recipients[0].email,
                "SpamScore": facts.spam_score, "Act": "Rej" if rejected else "Acc",
                "TlsVer": tls, "Cphr": cipher, "SpamInfo": "[]", "MsgId": msg_id,
                **({"RejType": "Envelope Rejected", "RejCode": "550",
                    "RejInfo": "Envelope rejected", "Error": "Envelope rejected"}
                   if rejected else {}),
            }  # fmt: skip
        if rejected:
            continue
        held = facts.status == "held"
        if log_type == "process":
            yield {
                **head, "AttSize": sum(a[2] for a in facts.attachments),
                "Act": "Hld" if held else "Acc", "AttCnt": len(facts.attachments),
                "AttNames": ", ".join(f'"{a[0]}"' for a in facts.attachments),
                "MsgSize": facts.size, "MsgId": msg_id, **({"Hld": "Spm"} if held else {}),
            }  # fmt: skip
        if log_type == "jrnl":
            yield {
                **head, "Dir": direction, "Subject": facts.subject, "MsgId": msg_id,
                "Sender": facts.sender.email, "Rcpt": facts.recipients[0].email,
                "RcptActType": "Jnl",
            }  # fmt: skip
        if held:
            continue
        for rcpt in facts.recipients:
            latency = rng.randint(200, 4000)
            ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            if log_type == "delivery":
                yield {
                    **head, "Delivered": facts.status == "delivered", "IP": ip,
                    "AttCnt": len(facts.attachments), "Dir": direction,
                    "ReceiptAck": "250 2.6.0 Queued mail for delivery", "MsgId": msg_id,
                    "Subject": facts.subject, "Latency": latency, "Sender": facts.sender.email,
                    "Rcpt": rcpt.email, "AttSize": sum(a[2] for a in facts.attachments),
                    "Attempt": 1, "TlsVer": tls, "Cphr": cipher, "Snt": facts.size,
                    "UseTls": "Yes", "Route": "Mimecast Exchange Route",
                }  # fmt: skip


def _extra_records(
    stream: SiemStream, slot: int, total: int, log_type: str
) -> Iterator[dict[str, Any]]:
    """Spam-event and AV lines: inbound messages from outside, drawn on their own."""
    count = extra_count(stream.seed, slot, total, log_type)
    rng = random.Random(f"siem:{stream.seed}:{slot}:{log_type}:records")
    people = mailboxes(stream.seed, stream.users, stream.domain)
    outside = externals(stream.seed)
    start = slot * SLOT_SECONDS
    for k in range(count):
        t = start + (k + rng.random()) / count * SLOT_SECONDS
        sender = rng.choice(outside).email
        domain = sender.rpartition("@")[2]
        code = base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")
        ip = ".".join(
            str(rng.randint(lo, hi)) for lo, hi in ((11, 223), (0, 255), (0, 255), (1, 254))
        )
        common = {
            "datetime": when(t), "acc": stream.account_code, "Sender": sender,
            "Recipient": rng.choice(people).email, "Route": "Inbound", "SenderDomain": domain,
            "Subject": f"Re: order {rng.randint(1000, 9999)}", "MsgId": f"<{code[:16]}@{domain}>",
        }  # fmt: skip
        if log_type == "spam":
            # datetime first, as every real record starts
            yield {"datetime": common["datetime"], "aCode": code, **common,
                   "headerFrom": sender, "SourceIP": ip}  # fmt: skip
        else:
            name, ext, mime = rng.choice(_AV_FILES)
            digest = f"{stream.seed}:{slot}:{k}".encode()
            yield {
                **common, "IP": ip, "CustomerIP": "false", "MimecastIP": "false",
                "SenderDomainInternal": "false", "Virus": rng.choice(_VIRUSES),
                "fileName": name, "fileExt": ext, "fileMime": mime,
                "Size": rng.randint(10_000, 900_000),
                "md5": hashlib.md5(digest).hexdigest(), "sha1": hashlib.sha1(digest).hexdigest(),
                "sha256": hashlib.sha256(digest).hexdigest(),
            }  # fmt: skip


def mta_records(stream: SiemStream, slot: int, log_type: str) -> Iterator[dict[str, Any]]:
    """The records of one MTA-type file, one at a time."""
    total = slot_messages(stream.seed, stream.users, stream.messages_per_user_day, slot)
    if log_type in ("spam", "av"):
        yield from _extra_records(stream, slot, total, log_type)
        return
    for chunk in range((total + _CHUNK - 1) // _CHUNK):
        yield from _chunk_records(stream, slot, chunk, total, log_type)


def _kv(row: dict[str, Any]) -> str:
    return "|".join(f"{key}={_kv_value(value)}" for key, value in row.items())


def _kv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("|", "/").replace("\r", " ").replace("\n", " ")


def _plain_chunks(records: Iterable[dict[str, Any]], file_format: str) -> Iterator[bytes]:
    """The file's bytes in pieces of about 32 KiB: records are encoded one at a time into one
    buffer, handed out whenever it fills, so memory does not grow with the file."""
    as_json = file_format == "json"
    buffer = bytearray(b'{"type":"MTA","data":[' if as_json else b"")
    first = True
    for row in records:
        if not first:
            buffer += b"," if as_json else _RECORD_SEPARATOR
        buffer += json.dumps(row, separators=(",", ":")).encode() if as_json else _kv(row).encode()
        first = False
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
    stamp = datetime.fromtimestamp((slot + 1) * SLOT_SECONDS, tz=UTC).timetuple()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member, date_time=stamp)
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


def file_chunks(
    records: Iterable[dict[str, Any]], slot: int, log_type: str, file_format: str, compress: bool
) -> Iterator[bytes]:
    """The bytes of one file, in pieces of about 32 KiB (less once compressed)."""
    plain = _plain_chunks(records, file_format)
    if not compress:
        return plain
    return _zip_chunks(plain, file_name(slot, log_type, file_format, False), slot)
