"""The XML query of ``/api/archive/search``, parsed safely into an :class:`ArchiveQuery`.

The documented form (Mimecast Unified Search Experience, "muse")::

    <?xml version="1.0"?>
    <xmlquery trace="iql,muse">
      <metadata query-type="emailarchive" archive="true" active="false" page-size="25" startrow="0">
        <mailboxes><mailbox include-aliases="true">a@example.com</mailbox></mailboxes>
        <smartfolders/>
        <return-fields><return-field>subject</return-field>...</return-fields>
      </metadata>
      <muse>
        <text>subject: invoice</text>
        <date select="last_year"/>            (or select="between" from="..." to="...")
        <sent select="from">b@example.com</sent>
        <docs select="optional"></docs>
        <route/>
      </muse>
    </xmlquery>

The query comes from the caller, so it is parsed defensively: at most :data:`MAX_QUERY_CHARS`
characters, with the standard library's expat parser and handlers that refuse any document type
declaration, entity declaration or external entity reference before they take effect. Without a
DTD there are no entities to expand (no "billion laughs") and nothing is fetched. Anything that is
not such a query is an :class:`ItemRefused` on the field ``query``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

from mcapi.emulator.functions._common import INVALID, OUT_OF_RANGE, ItemRefused
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE

__all__ = [
    "ARCHIVE_DEFAULT_PAGE_SIZE",
    "MAX_QUERY_CHARS",
    "RETURN_FIELDS",
    "ArchiveQuery",
    "parse_query",
]

MAX_QUERY_CHARS = 20_000
#: The archive search's own default page size (the XML query's page-size attribute).
ARCHIVE_DEFAULT_PAGE_SIZE = 25
#: The return fields the emulator answers (an unknown return field is left out of the items).
RETURN_FIELDS = (
    "id", "subject", "displayfrom", "displayfromaddress", "displayto", "displaytoaddresslist",
    "receiveddate", "size", "attachmentcount", "status", "smash",
)  # fmt: skip
_DAY = 86400
_RELATIVE_DAYS = {"last_week": 7, "last_month": 30, "last_three_months": 90, "last_year": 365}
#: docs select -> attachment extensions it requires ("" = any attachment)
DOC_TYPES: dict[str, tuple[str, ...]] = {
    "any": ("",),
    "documents": ("doc", "dot", "docx", "docm", "dotx", "dotm", "pdf", "rtf", "html"),
    "spreadsheets": ("xls", "xlt", "xlsx", "xlsm", "xltx", "xltm", "xlsb", "xlam", "csv"),
    "presentations": ("ppt", "pptx", "pptm", "potx", "potm", "ppam", "ppsx", "ppsm", "sldx"),
    "text": ("txt", "text", "html", "log"),
    "images": ("jpg", "jpeg", "png", "bmp", "gif", "psd", "tif", "tiff"),
    "media": ("mp3", "mp4", "m4a", "mpg", "mpeg", "avi", "wav", "aac", "wma", "mov"),
    "zips": ("zip", "rar", "cab", "gz", "gzip", "7z"),
}
_FIELDED = re.compile(r"^(subject|body|from|to)\s*:\s*(.*)$", re.IGNORECASE | re.DOTALL)


def _bad(message: str) -> ItemRefused:
    return ItemRefused(INVALID, f"query: {message}", "query")


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def child(self, tag: str) -> _Node | None:
        return next((c for c in self.children if c.tag == tag), None)


def _refuse(*_: Any) -> Any:
    raise _bad("document type and entity declarations are not allowed")


def parse_xml(text: str) -> _Node:
    """The root element of ``text``; ItemRefused for anything but a small, DTD-free document."""
    if len(text) > MAX_QUERY_CHARS:
        raise ItemRefused(
            OUT_OF_RANGE, f"query is longer than {MAX_QUERY_CHARS} characters", "query"
        )
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    document = _Node("#document", {})
    stack = [document]

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs)
        stack[-1].children.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise _bad(f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    return document.children[0]


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """What a search asks for, in the emulator's terms."""

    page_size: int = ARCHIVE_DEFAULT_PAGE_SIZE
    start_row: int = 0
    mailboxes: tuple[str, ...] = ()
    return_fields: tuple[str, ...] = RETURN_FIELDS
    #: (field, words): field is "subject", "from", "to" or "" for any of them
    text: tuple[str, str] | None = None
    date_from: float | None = None
    date_to: float | None = None
    sent_from: str | None = None
    sent_to: str | None = None
    docs: str = "optional"
    route: str | None = None


def parse_query(text: str, now: float) -> ArchiveQuery:
    """The query of an ``xmlquery`` document, with relative dates resolved against ``now``."""
    root = parse_xml(text)
    if root.tag != "xmlquery":
        raise _bad("the root element must be xmlquery")
    meta = root.child("metadata")
    if meta is None:
        raise _bad("metadata is required")
    if meta.attrs.get("query-type", "emailarchive") != "emailarchive":
        raise _bad("metadata query-type must be emailarchive")
    page_size = _number(meta.attrs, "page-size", ARCHIVE_DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    start_row = _number(meta.attrs, "startrow", 0, 0, 10**9)
    boxes = meta.child("mailboxes")
    mailboxes = (
        tuple(m.text.strip().lower() for m in boxes.children if m.text.strip()) if boxes else ()
    )
    fields = meta.child("return-fields")
    returned = tuple(f.text.strip().lower() for f in fields.children) if fields else ()
    muse = root.child("muse") or _Node("muse", {})
    date_from, date_to = _dates(muse.child("date"), now)
    return ArchiveQuery(
        page_size=page_size,
        start_row=start_row,
        mailboxes=mailboxes,
        return_fields=tuple(f for f in RETURN_FIELDS if f in returned)
        if returned
        else RETURN_FIELDS,
        text=_text(muse.child("text")),
        date_from=date_from,
        date_to=date_to,
        sent_from=_sent(muse, "from"),
        sent_to=_sent(muse, "to"),
        docs=_docs(muse.child("docs")),
        route=_route(muse.child("route")),
    )


def _number(attrs: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = attrs.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise _bad(f"{name} must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise ItemRefused(OUT_OF_RANGE, f"query: {name} must be between {low} and {high}", "query")
    return value


def _text(node: _Node | None) -> tuple[str, str] | None:
    words = node.text.strip() if node else ""
    while words.startswith("(") and words.endswith(")"):
        words = words[1:-1].strip()
    if not words:
        return None
    fielded = _FIELDED.match(words)
    if fielded is None:
        return "", words.lower()
    name, value = fielded.group(1).lower(), fielded.group(2).strip().lower()
    # bodies are made up on request, not indexed: body words are looked for where text is
    return ("" if name == "body" else name), value


def _when(value: str, name: str) -> float:
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"date {name} must be a date-time like 2015-09-21T23:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _dates(node: _Node | None, now: float) -> tuple[float | None, float | None]:
    if node is None:
        return None, None
    select = node.attrs.get("select", "").strip().lower()
    midnight = now - now % _DAY
    if select == "between":
        start = node.attrs.get("from")
        end = node.attrs.get("to")
        return (_when(start, "from") if start else None), (_when(end, "to") if end else None)
    if select == "today":
        return midnight, None
    if select == "yesterday":
        return midnight - _DAY, midnight
    if select in _RELATIVE_DAYS:
        return now - _RELATIVE_DAYS[select] * _DAY, None
    if select in ("", "all"):
        return None, None
    raise _bad(f"date select {select!r} is not one the emulator knows")


def _sent(muse: _Node, direction: str) -> str | None:
    for node in muse.children:
        if node.tag == "sent" and node.attrs.get("select", "").strip().lower() == direction:
            address = node.text.strip().lower()
            if address:
                return address
    return None


def _docs(node: _Node | None) -> str:
    select = (node.attrs.get("select", "optional") if node else "optional").strip().lower()
    if select not in ("optional", "none", *DOC_TYPES):
        raise _bad(f"docs select {select!r} is not one the emulator knows")
    return select


def _route(node: _Node | None) -> str | None:
    route = node.text.strip().lower() if node else ""
    if route in ("", "all"):
        return None
    if route not in ("inbound", "outbound", "internal"):
        raise _bad("route must be inbound, outbound or internal")
    return route
