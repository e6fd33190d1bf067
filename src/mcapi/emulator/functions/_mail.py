"""Archived message bodies, made up on request and streamed: plain, HTML, RFC 822.

A message row holds the envelope facts (sender, recipients, subject, time, attachment names and
sizes); its body is derived from the message id with ``random.Random(id)``, so the same message
always has the same bytes and nothing but the row is stored. Attachment bytes are produced and
base64-encoded a slice at a time, so a large attachment never sits in memory whole.

The DELIVERED context is what reached the mailbox: links rewritten into URL Protect links (which
decode-url turns back). The RECEIVED context is what arrived at the gateway: the original links.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from mcapi.emulator.functions._urls import protect_url

__all__ = ["MessageView", "attachment_bytes", "body_html", "body_plain", "rfc822"]

_WORDS = (
    "please", "review", "the", "attached", "figures", "before", "our", "meeting", "we", "agreed",
    "to", "update", "schedule", "next", "week", "budget", "client", "team", "project", "thanks",
    "draft", "final", "version", "shared", "folder", "comments", "deadline", "invoice", "order",
)  # fmt: skip
_SLICE = 57 * 1024  # raw bytes per base64 slice: a whole number of 76-character lines


@dataclass(frozen=True, slots=True)
class MessageView:
    """What a body is made from: the message row's facts and the context asked for."""

    id: str
    message_id: str
    received: float
    sender: str
    sender_name: str
    recipients: tuple[str, ...]
    subject: str
    sender_ip: str
    attachments: tuple[tuple[str, str, int], ...]
    delivered: bool
    region: str


def _paragraphs(view: MessageView) -> tuple[list[str], list[str]]:
    rng = random.Random(f"body:{view.id}")
    paragraphs = []
    for _ in range(rng.randint(2, 5)):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(12, 40))]
        paragraphs.append(" ".join(words).capitalize() + ".")
    host = view.sender.rpartition("@")[2]
    links = [f"https://{host}/docs/{rng.randint(1000, 9999)}"]
    if rng.random() < 0.5:
        links.append(f"https://{host}/news/{rng.randint(10, 99)}")
    if view.delivered:
        links = [protect_url(link, view.region) for link in links]
    return paragraphs, links


def body_plain(view: MessageView) -> str:
    paragraphs, links = _paragraphs(view)
    return "\r\n\r\n".join([*paragraphs, *links]) + "\r\n"


def body_html(view: MessageView) -> str:
    paragraphs, links = _paragraphs(view)
    parts = [f"<p>{p}</p>" for p in paragraphs]
    parts += [f'<p><a href="{link}">{link}</a></p>' for link in links]
    return "<html><body>" + "".join(parts) + "</body></html>\r\n"


def attachment_bytes(message_id: str, index: int, size: int) -> Iterator[bytes]:
    """The raw bytes of attachment ``index`` of a message, a slice at a time (the same bytes
    whether downloaded alone with archive/get-file or decoded from the RFC 822 message)."""
    rng = random.Random(f"attachment:{message_id}:{index}")
    left = size
    while left > 0:
        raw = rng.randbytes(min(_SLICE, left))
        left -= len(raw)
        yield raw


def _attachment(view: MessageView, index: int, size: int) -> Iterator[bytes]:
    for raw in attachment_bytes(view.id, index, size):
        encoded = base64.b64encode(raw)
        yield b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"


def rfc822(view: MessageView, *, transmission: bool = False) -> Iterator[bytes]:
    """The whole message as MIME, in chunks; ``transmission`` adds the SMTP trace header."""
    boundary = f"mcapi-{view.id[3:19]}"
    when = format_datetime(datetime.fromtimestamp(view.received, tz=UTC))
    head = []
    if transmission:
        head.append(
            f"Received: from mail.{view.sender.rpartition('@')[2]} ([{view.sender_ip}]) "
            f"by {view.region}-smtp-inbound-1.mimecast.com; {when}"
        )
    head += [
        f"Message-ID: {view.message_id}",
        f"Date: {when}",
        f'From: "{view.sender_name}" <{view.sender}>'
        if view.sender_name
        else f"From: {view.sender}",
        f"To: {', '.join(view.recipients)}",
        f"Subject: {view.subject}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "",
        body_plain(view),
        f"--{boundary}",
        'Content-Type: text/html; charset="utf-8"',
        "",
        body_html(view),
    ]
    yield "\r\n".join(head).encode()
    for index, (name, content_type, size) in enumerate(view.attachments):
        yield (
            f'--{boundary}\r\nContent-Type: {content_type}; name="{name}"\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        yield from _attachment(view, index, size)
    yield f"--{boundary}--\r\n".encode()
