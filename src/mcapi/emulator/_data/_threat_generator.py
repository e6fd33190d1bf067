"""Attachment hashes and threat-feed indicators for a generated tenant, derived from its messages.

:func:`generate_threat_data` runs inside :func:`~mcapi.emulator._data.generate`'s transaction,
after the messages are written, and reads them back in ``seq`` order: every attachment a message
lists gets a ``message_attachments`` row with its SHA-256, SHA-1 and MD5. The hashes are pure
functions of the seed and the message, so they are the same on every generation:

* a benign attachment's hashes derive from ``(seed, message id, position)``: unique files;
* a malicious one (on inbound mail: always for the suspicious senders the vocabulary marks with a
  high spam score, and for 8% of the others) is one of two payloads per file name of a
  campaign, ``(seed, file name, k)``, so one hash is found in several messages, as a
  remediation by hash expects.

Each malicious attachment is one indicator of the ``malware_customer`` feed at the message's
time, and one of ``malware_grid``; the grid also lists files seen elsewhere in the region: four
for each of the account's, and one per hour of the window.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data._tables import messages
from mcapi.emulator._data._threat_tables import message_attachments, threat_indicators
from mcapi.emulator._data._vocab import externals

__all__ = ["file_hashes", "generate_threat_data"]

_MALICIOUS_SHARE = 0.08
_SUSPICIOUS_SPAM_SCORE = 5  # the vocabulary gives suspicious senders 5..20, others at most 2
_GRID_PER_CUSTOMER = 4
_GRID_FILES = (
    ("Invoice_{n}.doc", "application/msword"),
    ("Payment_Advice_{n}.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
    ("Scan_{n}.pdf.exe", "application/x-msdownload"),
    ("Order_{n}.zip", "application/zip"),
    ("Remittance_{n}.html", "text/html"),
)
_GRID_SUBJECTS = (
    "Outstanding invoice {n}", "Payment advice {n}", "Your parcel could not be delivered",
    "Scanned document {n}", "Remittance for order {n}",
)  # fmt: skip


def file_hashes(*parts: object) -> tuple[str, str, str]:
    """SHA-256, SHA-1 and MD5 of the (synthetic) file content named by ``parts``."""
    content = ":".join(str(p) for p in parts).encode()
    return (
        hashlib.sha256(content).hexdigest(),
        hashlib.sha1(content, usedforsecurity=False).hexdigest(),
        hashlib.md5(content, usedforsecurity=False).hexdigest(),
    )


def generate_threat_data(
    conn: Connection, account_id: int, *, seed: int, start: float, now: float
) -> int:
    """Replace the account's generated attachment hashes and feed indicators; returns how many
    attachments were hashed."""
    for table in (message_attachments, threat_indicators):
        conn.execute(
            table.delete().where(table.c.account_id == account_id, table.c.generated == sa.true())
        )
    rng = random.Random(f"threat:{seed}")
    attachments: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    m = messages.c
    rows = conn.execute(
        sa.select(
            m.id, m.received, m.sender, m.recipients, m.subject, m.route, m.spam_score,
            m.attachments,
        )
        .where(
            m.account_id == account_id,
            m.generated == sa.true(),
            # the fifth of the mail that has attachments (SQLite and PostgreSQL spell it alike)
            sa.func.json_array_length(m.attachments) > 0,
        )
        .order_by(m.seq)
    )  # fmt: skip
    for row in rows:
        for position, attachment in enumerate(row.attachments or []):
            filename = str(attachment.get("filename", "attachment"))
            malicious = row.route == "inbound" and (
                row.spam_score >= _SUSPICIOUS_SPAM_SCORE or rng.random() < _MALICIOUS_SHARE
            )
            if malicious:
                sha256, sha1, md5 = file_hashes(seed, "payload", filename, rng.randrange(2))
            else:
                sha256, sha1, md5 = file_hashes(seed, "file", row.id, position)
            attachments.append(
                {
                    "account_id": account_id, "message_id": row.id, "position": position,
                    "received": row.received, "filename": filename, "sha256": sha256,
                    "sha1": sha1, "md5": md5, "malicious": malicious, "generated": True,
                }
            )  # fmt: skip
            if malicious:
                recipient = row.recipients[0] if row.recipients else ""
                for feed in ("malware_customer", "malware_grid"):
                    indicators.append(
                        {
                            "account_id": account_id, "feed_type": feed,
                            "created": row.received, "sha256": sha256, "md5": md5,
                            "filename": filename,
                            "file_type": str(attachment.get("contentType", "")),
                            "sender": row.sender, "recipient": recipient,
                            "subject": row.subject, "message_id": row.id, "generated": True,
                        }
                    )  # fmt: skip
    customer = sum(1 for i in indicators if i["feed_type"] == "malware_customer")
    indicators.extend(_grid_rows(rng, account_id, seed, start, now, customer))
    if attachments:
        conn.execute(message_attachments.insert(), attachments)
    if indicators:
        conn.execute(threat_indicators.insert(), indicators)
    return len(attachments)


def _grid_rows(
    rng: random.Random, account_id: int, seed: int, start: float, now: float, customer: int
) -> Iterator[dict[str, Any]]:
    """Files seen elsewhere in the regional grid, spread over the window, oldest first."""
    count = customer * _GRID_PER_CUSTOMER + int((now - start) // 3600)
    senders = externals(seed)
    times = sorted(start + rng.random() * (now - start) for _ in range(count))
    for n, t in enumerate(times):
        name, content_type = rng.choice(_GRID_FILES)
        number = rng.randint(1000, 99999)
        sha256, _, md5 = file_hashes(seed, "grid", n)
        yield {
            "account_id": account_id, "feed_type": "malware_grid", "created": round(t, 3),
            "sha256": sha256, "md5": md5, "filename": name.format(n=number),
            "file_type": content_type, "sender": rng.choice(senders).email,
            "recipient": "", "subject": rng.choice(_GRID_SUBJECTS).format(n=number),
            "message_id": "", "generated": True,
        }  # fmt: skip
