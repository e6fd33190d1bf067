"""The vocabulary of generated mail: people, partners, subjects, and one message's facts.

The seeded generator (database rows) and the SIEM files (rows made on the fly) draw from the same
functions, so a tenant's SIEM logs name the same mailboxes as its archive. Everything here is a
pure function of its arguments and a ``random.Random`` the caller seeds: same seed, same mail.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "EXTERNAL_DOMAINS",
    "MessageFacts",
    "Person",
    "externals",
    "hourly_weight",
    "mailboxes",
    "opaque_id",
    "synth_message",
]

_FIRST = (
    "alex", "amira", "ana", "ben", "carla", "chen", "david", "elena", "emma", "farid", "grace",
    "hana", "ivan", "jamal", "julia", "kofi", "lara", "liam", "maya", "mei", "nina", "noah",
    "olga", "omar", "paula", "priya", "quinn", "rafael", "sara", "sven", "tariq", "tess", "uma",
    "victor", "wen", "yara", "yusuf", "zoe",
)  # fmt: skip
_LAST = (
    "adams", "baker", "costa", "diaz", "evans", "fischer", "garcia", "haddad", "ito", "jensen",
    "khan", "larsen", "moreau", "nakamura", "okafor", "patel", "quinlan", "rossi", "schmidt",
    "tanaka", "ueda", "varga", "wright", "xu", "young", "zimmer",
)  # fmt: skip
EXTERNAL_DOMAINS = (
    "northwind.example", "contoso.example", "fabrikam.example", "tailspin.example",
    "wingtip.example", "adventure-works.example", "litware.example", "proseware.example",
    "woodgrove.example", "fourthcoffee.example", "margie.example", "lucerne.example",
)  # fmt: skip
_SUSPICIOUS_DOMAINS = ("paypa1-secure.example", "invoice-portal.example", "m1crosoft.example")
_SUBJECTS = (
    "Quarterly report {n}", "Re: Meeting on {day}", "Invoice {n} due", "Project {word} update",
    "Fwd: {word} proposal", "Lunch {day}?", "Your order {n} has shipped", "Contract draft v{v}",
    "Re: Re: {word} budget", "Action required: {word} review", "Minutes of the {word} call",
    "Welcome to the {word} team", "Password expiry notice", "Re: {word} deliverables",
)  # fmt: skip
_WORDS = (
    "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris",
    "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus", "Orion", "Pioneer",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_ATTACHMENTS = (
    ("report.pdf", "application/pdf"), ("invoice.pdf", "application/pdf"),
    ("figures.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("notes.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("photo.jpg", "image/jpeg"), ("agenda.txt", "text/plain"),
)  # fmt: skip
# Relative mail volume per UTC hour: office hours busy, nights quiet.
_HOURLY = (2, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 10, 12, 14, 14, 12, 9, 6, 4, 3, 3, 2, 2)


@dataclass(frozen=True, slots=True)
class Person:
    """A mailbox: address and display name."""

    email: str
    name: str


@lru_cache(maxsize=64)
def mailboxes(seed: int, count: int, domain: str) -> tuple[Person, ...]:
    """``count`` distinct internal people of ``domain``, the same for the same arguments."""
    rng = random.Random(f"mailboxes:{seed}")
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{first}.{last}"
        n = 2
        while local in seen:
            local = f"{first}.{last}{n}"
            n += 1
        seen.add(local)
        people.append(Person(f"{local}@{domain}", f"{first.title()} {last.title()}"))
    return tuple(people)


@lru_cache(maxsize=64)
def externals(seed: int, count: int = 120) -> tuple[Person, ...]:
    """Correspondents outside the tenant."""
    rng = random.Random(f"externals:{seed}")
    out = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        domain = EXTERNAL_DOMAINS[i % len(EXTERNAL_DOMAINS)]
        out.append(Person(f"{first}.{last}{i}@{domain}", f"{first.title()} {last.title()}"))
    return tuple(out)


def hourly_weight(hour: int) -> float:
    """Share of a day's mail that arrives in UTC ``hour`` (the 24 weights sum to 1)."""
    return _HOURLY[hour % 24] / sum(_HOURLY)


def opaque_id(*parts: object) -> str:
    """A deterministic opaque id in the platform's style (URL-safe base64, no padding)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return "eNo" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What the generator knows about one message."""

    sender: Person
    recipients: tuple[Person, ...]
    subject: str
    route: str
    status: str
    info: str
    size: int
    sender_ip: str
    spam_score: int
    attachments: tuple[tuple[str, str, int], ...]
    suspicious: bool


def synth_message(
    rng: random.Random, internal: tuple[Person, ...], outside: tuple[Person, ...]
) -> MessageFacts:
    """One plausible message: 60% inbound, 25% outbound, 15% internal; a few held or rejected."""
    roll = rng.random()
    suspicious = False
    if roll < 0.60:
        route = "inbound"
        suspicious = rng.random() < 0.03
        if suspicious:
            domain = rng.choice(_SUSPICIOUS_DOMAINS)
            sender = Person(f"billing@{domain}", "Billing Department")
        else:
            sender = rng.choice(outside)
        recipients: tuple[Person, ...] = (rng.choice(internal),)
    elif roll < 0.85:
        route = "outbound"
        sender = rng.choice(internal)
        recipients = tuple(rng.sample(outside, k=1 + (rng.random() < 0.2)))
    else:
        route = "internal"
        sender = rng.choice(internal)
        others = [p for p in rng.sample(internal, k=min(3, len(internal))) if p != sender]
        recipients = tuple(others[: 1 + (rng.random() < 0.3)]) or (sender,)
    status, info = "delivered", "Delivered"
    fate = rng.random()
    if route == "inbound" and (suspicious or fate < 0.01):
        status, info = "held", "Held for review"
    elif route == "inbound" and fate < 0.03:
        status, info = "rejected", "Envelope Rejected"
    elif fate > 0.995:
        status, info = "bounced", "Hard Bounce"
    template = rng.choice(_SUBJECTS)
    subject = template.format(
        n=rng.randint(1000, 99999), day=rng.choice(_DAYS), word=rng.choice(_WORDS),
        v=rng.randint(2, 9),
    )  # fmt: skip
    attachments: tuple[tuple[str, str, int], ...] = ()
    if rng.random() < 0.2:
        name, content_type = rng.choice(_ATTACHMENTS)
        attachments = ((name, content_type, rng.randint(2_000, 400_000)),)
    size = rng.randint(2_000, 60_000) + sum(a[2] for a in attachments)
    ip = f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if route != "inbound":
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    spam = rng.randint(5, 20) if suspicious else rng.choice((0, 0, 0, 1, 2))
    return MessageFacts(
        sender=sender,
        recipients=recipients,
        subject=subject,
        route=route,
        status=status,
        info=info,
        size=size,
        sender_ip=ip,
        spam_score=spam,
        attachments=attachments,
        suspicious=suspicious,
    )
