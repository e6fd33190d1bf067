"""Generated Attachment Protect and Impersonation Protect logs.

The seeded generator (``_generator.generate``) hands these functions its random generator and the
(hour start, event count) pairs of the period; they yield the rows it bulk-inserts. Same seed,
same rows, as for every other generated table.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator
from typing import Any

from mcapi.emulator._data._vocab import Person, opaque_id

__all__ = [
    "ATTACHMENT_RESULTS",
    "IMPERSONATION_ACTIONS",
    "IMPERSONATION_IDENTIFIERS",
    "attachment_rows",
    "impersonation_rows",
]

ATTACHMENT_RESULTS = ("safe", "malicious", "timeout", "error")
IMPERSONATION_IDENTIFIERS = (
    "newly_observed_domain",
    "internal_user_name",
    "reply_address_mismatch",
    "targeted_threat_dictionary",
    "similar_internal_domain",
)
IMPERSONATION_ACTIONS = ("none", "hold", "bounce")
_FILES = (
    ("invoice.pdf", "application/pdf"), ("statement.pdf", "application/pdf"),
    ("payroll.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
    ("contract.docx",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("scan.zip", "application/zip"), ("remittance.html", "text/html"),
)  # fmt: skip
_LOOKALIKES = ("paypa1-secure.example", "invoice-portal.example", "m1crosoft.example")
_CEO_SUBJECTS = (
    "Urgent wire transfer", "Are you at your desk?", "Confidential acquisition",
    "Gift cards for the team", "Change of bank details",
)  # fmt: skip


def _digest(name: str, *parts: object) -> str:
    return hashlib.new(name, ":".join(str(p) for p in parts).encode()).hexdigest()


def _ip(rng: random.Random) -> str:
    return ".".join(
        str(rng.randint(lo, hi)) for lo, hi in ((11, 223), (0, 255), (0, 255), (1, 254))
    )


def attachment_rows(
    rng: random.Random,
    account_id: int,
    people: tuple[Person, ...],
    outside: tuple[Person, ...],
    hours: Iterable[tuple[float, int]],
    seed: int,
) -> Iterator[dict[str, Any]]:
    """Inbound attachments sandboxed: 5% malicious (held), a few timeouts and errors."""
    n = 0
    for t0, count in hours:
        for t in sorted(t0 + rng.random() * 3600 for _ in range(count)):
            n += 1
            roll = rng.random()
            result = (
                "malicious" if roll < 0.05 else "timeout" if roll < 0.07
                else "error" if roll < 0.08 else "safe"
            )  # fmt: skip
            sender = rng.choice(outside)
            if result == "malicious":
                sender = Person(f"accounts@{rng.choice(_LOOKALIKES)}", "Accounts")
            name, mime = rng.choice(_FILES)
            host = sender.email.rpartition("@")[2]
            yield {
                "account_id": account_id, "date": round(t, 3), "sender": sender.email,
                "recipient": rng.choice(people).email, "file_name": name, "file_type": mime,
                "file_size": rng.randint(8_000, 900_000),
                "sha256": _digest("sha256", seed, "attachment", n),
                "md5": _digest("md5", seed, "attachment", n),
                "sha1": _digest("sha1", seed, "attachment", n), "result": result,
                "action_triggered": (
                    "admin release, hold" if result == "malicious" else "user release, none"
                ),
                "definition": "Inbound - Safe file with On-Demand Sandbox",
                "details": f"{result.title():<50}\r\nTime taken: 0 hrs, 0 min, "
                           f"{rng.randint(2, 40)} sec",
                "route": "inbound", "subject": f"Documents {rng.randint(100, 999)}",
                "message_id": f"<{opaque_id(seed, 'attmsg', n)[3:19]}@{host}>",
                "sender_ip": _ip(rng), "generated": True,
            }  # fmt: skip


def impersonation_rows(
    rng: random.Random,
    account_id: int,
    people: tuple[Person, ...],
    hours: Iterable[tuple[float, int]],
    seed: int,
) -> Iterator[dict[str, Any]]:
    """Messages that look like a colleague or an executive from outside; 40% tagged malicious."""
    n = 0
    for t0, count in hours:
        for t in sorted(t0 + rng.random() * 3600 for _ in range(count)):
            n += 1
            posed = rng.choice(people[: max(1, len(people) // 50)])  # someone senior
            local = posed.email.partition("@")[0]
            host = rng.choice(_LOOKALIKES)
            found = sorted(rng.sample(IMPERSONATION_IDENTIFIERS, k=rng.randint(1, 3)))
            malicious = len(found) >= 2 or rng.random() < 0.2
            action = rng.choice(IMPERSONATION_ACTIONS[1:]) if malicious else "none"
            outcome = "Hold for Review / User Hold" if action != "none" else "Tag email"
            hits = len(found)
            yield {
                "id": opaque_id(seed, "impersonation", n), "account_id": account_id,
                "event_time": round(t, 3), "sender": f"{local}@{host}",
                "recipient": rng.choice(people).email, "subject": rng.choice(_CEO_SUBJECTS),
                "definition": f"IP - {hits} hit{'s' if hits > 1 else ''} ({outcome})",
                "hits": hits, "identifiers": found, "action": action,
                "posed_as": f"{posed.name} <{posed.email}>",
                "tagged_external": True, "tagged_malicious": malicious,
                "sender_ip": _ip(rng), "route": "inbound",
                "message_id": f"<{opaque_id(seed, 'impmsg', n)[3:19]}@{host}>",
                "generated": True,
            }  # fmt: skip
