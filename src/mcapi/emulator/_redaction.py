"""What the journal keeps of a request and its answer: secrets removed, every field bounded.

Theory of operation
-------------------
Nothing secret may reach the journal or a log. ``redact`` is the one gate: it takes a string (a
header value, a log line, a body as text) or a JSON-like mapping (headers, a parsed body) and
returns a copy where

* ``Authorization: MC <accessKey>:<signature>`` keeps the access key's first 4 characters and
  loses the signature: ``MC AbCd…:[redacted]``;
* ``Basic-Cloud``/``Basic-AD`` (and ``Basic``/``Bearer``) credentials are removed entirely;
* values of keys named like a secret (``secretKey``, ``password``, ``appKey``, ``applicationKey``,
  ``token``, ``mc-siem-token``, ``authorization``...) are replaced; ``accessKey`` values keep their
  first 4 characters. ``pageToken`` and ``pageSize`` are pagination, not secrets, and stay.

A journal entry holds what callers sent (request id, app id, user name, path, a reason quoting a
header): ``clip`` keeps at most ``MAX_FIELD_CHARS`` of each text field, with a marker saying how
much was left out, so that hostile headers cannot make an entry large (see the bound below).

Each entry also keeps the exchange itself, for ``mcapi emulator journal --show ID`` and the
dashboard: the request's and the answer's headers (``headers_kept``: at most ``MAX_HEADERS`` of
each and ``MAX_HEADER_CHARS`` characters of names and values in all, values clipped like the other
fields, a last ``HEADERS_LEFT_OUT`` entry counting the headers left out) and bodies (``body_text``:
at most ``MAX_BODY_CHARS`` characters each, with a marker saying how many bytes were cut). Both
pass ``redact``, the same rules as everything else (a signed call's Authorization, a login's
``Basic-Cloud`` credentials, a login answer's ``secretKey``, the ``client_secret`` of a token
request's form body and the ``access_token`` of its answer): headers as a mapping; a body that
parses as JSON as its parsed value (a secret-named key loses its value whatever its shape, array
or object, and a key is read with its escapes as the server reads it), written back as JSON; a
form body by the names the server decodes (``client_secre%74``), each value whole up to its
``&``; any other body as text. A body larger than ``PARSE_LIMIT`` is redacted as text, before it
is cut, over a margin of ``BODY_MARGIN`` characters past the cut, so that a secret straddling the
cut is removed rather than half kept (a secret-named key's array or object value is removed up to
its closing bracket).

At the limits an entry holds about 71,000 characters: two bodies and two sets of headers of
16 KiB each, six text fields of 1 KiB, and their markers. Python keeps a text at 1, 2 or 4 bytes
a character, as its widest character needs (the ``…`` of a marker needs 2), so 1,000 entries at
the limits take about 90 MB when what was sent is Latin-1, and at most about 230 MB when the
bodies and fields are all characters beyond U+FFFF (emoji).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, overload
from urllib.parse import parse_qsl, quote_plus

from mcapi._constants import REDACTED

#: The most characters the journal keeps of one text field (a header value, a reason).
MAX_FIELD_CHARS = 1024
#: The most characters the journal keeps of a request or response body.
MAX_BODY_CHARS = 16 * 1024
#: How far past ``MAX_BODY_CHARS`` a body is redacted before it is cut.
BODY_MARGIN = 4 * 1024
#: The most headers the journal keeps of one request or response.
MAX_HEADERS = 64
#: The most characters (names and values together) the journal keeps of one request's or one
#: response's headers; the headers past it are left out, with a marker.
MAX_HEADER_CHARS = 16 * 1024
#: The name of the marker entry that says how many headers were left out.
HEADERS_LEFT_OUT = "…"
_MARKER_ROOM = 40  # "…[N more bytes]" fits in it: text at most this much longer is already cut
_T = TypeVar("_T")

# Names compared after lower-casing and dropping "-", "_" and ".".
_SECRET_NAME = re.compile(
    r"secret|password|passwd|passphrase|appkey|applicationkey|token|authorization"
)
_PARTIAL_NAME = re.compile(r"accesskey")
_PUBLIC_NAMES = frozenset({"pagetoken", "pagesize", "nextpagetoken"})

_MC_AUTH = re.compile(r"\bMC\s+([^\s:\"',;]*):[^\s\"',;]*")
_BASIC_AUTH = re.compile(r"\b(Basic-Cloud|Basic-AD|Basic|Bearer)\s+[^\s\"',;]+", re.IGNORECASE)
_SECRETISH = (
    r"[\w.-]*(?:secret|passw(?:or)?d|passphrase|app[-_.]?key|application[-_.]?key|token"
    r"|access[-_.]?key|authorization)[\w.-]*"
)
# key = value / "key": "value" / key: value, in free text (logs, bodies as text). Only secret-like
# names match, so the value of any other key (a message, a reason) is still scanned.
# The look-behind lets a match start only where a name can (not inside a word): a text of many
# words is scanned in linear time instead of retrying the name at every character.
_KEY_VALUE = re.compile(
    rf"""(?<![\w.-])(?P<key>["']?(?P<name>{_SECRETISH})["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[\[{]|[^\s,;&}\]"'\[{]+)""",
    re.IGNORECASE,
)
_SCHEMES = frozenset({"mc", "basic-cloud", "basic-ad", "basic", "bearer"})


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(".", "")


@functools.lru_cache(maxsize=4096)  # header and field names repeat from one request to the next
def _kind(name: str) -> str | None:
    """ "secret", "partial" (access keys) or None for a key name."""
    normal = _normal(name)
    if normal in _PUBLIC_NAMES:
        return None
    if _PARTIAL_NAME.search(normal):
        return "partial"
    if _SECRET_NAME.search(normal):
        return "secret"
    return None


def _shorten(value: str) -> str:
    """An access key's first 4 characters, or nothing when that would be half of it."""
    return f"{value[:4]}…" if len(value) >= 8 else "…"


def _redact_pair(match: re.Match[str]) -> str:
    kind = _kind(match["name"])
    value = match["value"]
    if kind is None:
        return match[0]
    quote = value[0] if value[:1] in ("'", '"') else ""
    if kind == "partial":
        inner = value[1:-1] if quote else value
        return f"{match['key']}{quote}{_shorten(inner)}{quote}"
    if _normal(match["name"]) == "authorization" and not quote and value.lower() in _SCHEMES:
        return match[0]  # "Authorization: MC ..." is handled by the scheme patterns
    return f"{match['key']}{quote}{REDACTED}{quote}"


#: The words a secret's name holds; a name is found from them (substring search is many times
#: faster than a regular expression scanning every character of a body).
_NAME_WORDS = ("secret", "passw", "passphrase", "key", "token", "authorization")
_QUOTES = "\"'"


def _name_starts(text: str, lowered: str) -> list[int]:
    """Where each word that holds a secret-like word starts (its opening quote, if any)."""
    starts = set()
    for word in _NAME_WORDS:
        at = lowered.find(word)
        while at != -1:
            start = at
            while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
                start -= 1
            if start > 0 and text[start - 1] in _QUOTES:
                start -= 1
            starts.add(start)
            at = lowered.find(word, at + len(word))
    return sorted(starts)


def _closing(text: str, start: int) -> int:
    """Where the array or object opening at ``start`` ends (past its closing bracket), strings
    skipped; the end of ``text`` when it does not close there."""
    depth = 0
    at = start
    while at < len(text):
        char = text[at]
        if char == '"':
            quoted = _JSON_STRING.match(text, at)
            at = quoted.end() if quoted else len(text)
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    return len(text)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _redact_pairs(text: str, starts: Iterable[int]) -> str:
    """``_KEY_VALUE`` substituted, trying only where a secret-like name starts. A secret's value
    that is an array or an object is replaced whole, up to its closing bracket."""
    out: list[str] = []
    done = 0
    for start in starts:
        if start < done:
            continue
        match = _KEY_VALUE.match(text, start)
        if match is None and text[start] in _QUOTES:
            match = _KEY_VALUE.match(text, start + 1)
        if match is None:
            continue
        out.append(text[done : match.start()])
        if match["value"] in ("[", "{") and _kind(match["name"]) is not None:
            out.append(f'{match["key"]}"{REDACTED}"')
            done = _closing(text, match.start("value"))
            continue
        out.append(_redact_pair(match))
        done = match.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _names_a_secret(lowered: str) -> bool:
    """Whether lower-cased text holds one of the words of a secret's name (``_NAME_WORDS``,
    spelt out: every header value and body of every request passes here)."""
    return (
        "key" in lowered
        or "token" in lowered
        or "secret" in lowered
        or "passw" in lowered
        or "passphrase" in lowered
        or "authorization" in lowered
    )


def _redact_text(text: str) -> str:
    if "MC" in text:
        text = _MC_AUTH.sub(lambda m: f"MC {_shorten(m[1])}:{REDACTED}", text)
    lowered = text.lower()
    if "basic" in lowered or "bearer" in lowered:
        text = _BASIC_AUTH.sub(lambda m: f"{m[1]} {REDACTED}", text)
        lowered = text.lower()
    if not _names_a_secret(lowered):
        return text
    if len(lowered) != len(text):  # a character whose lower case is longer: no positions
        return _redact_pairs(text, [match.start() for match in _KEY_VALUE.finditer(text)])
    return _redact_pairs(text, _name_starts(text, lowered))


def _redact_value(name: str, value: Any) -> Any:
    kind = _kind(name)
    if kind is None or value is None:
        return redact(value)
    if isinstance(value, str) and _normal(name) == "authorization":
        cleaned = _redact_text(value) if value.startswith("MC ") else REDACTED
        return cleaned if REDACTED in cleaned else REDACTED  # "MC <no colon>": all of it
    if kind == "partial" and isinstance(value, str):
        return _shorten(value)
    return REDACTED


@overload
def redact(value: str) -> str: ...
@overload
def redact(value: Mapping[str, Any]) -> dict[str, Any]: ...
@overload
def redact(value: _T) -> _T: ...
def redact(value: Any) -> Any:
    """A copy of ``value`` with every credential removed; see the module doc for the rules.

    Strings (and bytes) are scanned for credentials; mappings are walked, secret-named keys
    losing their values and every other string scanned; lists and tuples are walked; anything
    else is returned as it is.
    """
    if isinstance(value, str):
        return _redact_text(value)
    if value is None or isinstance(value, int | float):  # most of a parsed body: no walk
        return value
    if isinstance(value, dict):  # before the slower Mapping check
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, bytes):
        return _redact_text(value.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


@overload
def clip(value: str) -> str: ...
@overload
def clip(value: None) -> None: ...
def clip(value: str | None) -> str | None:
    """``value`` cut to ``MAX_FIELD_CHARS`` characters, with a marker naming what was cut."""
    if value is None or len(value) <= MAX_FIELD_CHARS:
        return value
    return f"{value[:MAX_FIELD_CHARS]}…[{len(value) - MAX_FIELD_CHARS} more characters]"


#: The largest body the journal redacts as parsed JSON or as a parsed form; a larger one is
#: redacted as text, over the part of it that is kept.
PARSE_LIMIT = 256 * 1024
_FORM = "application/x-www-form-urlencoded"
# A JSON escape of a character a name can hold ("pass\u0077ord"), read as that character by
# the text scan so that an escaped name is found.
_NAME_ESCAPE = re.compile(r"\\u00(?:[2-7][0-9a-fA-F])")


def _unescape_name_char(match: re.Match[str]) -> str:
    char = chr(int(match[0][2:], 16))
    return char if char.isalnum() or char in "_.-" else match[0]


def _scan(text: str) -> str:
    """A body that is neither JSON nor a form (or too large to parse), redacted as text."""
    if "\\u00" in text:
        text = _NAME_ESCAPE.sub(_unescape_name_char, text)
    return _redact_text(text)


def is_form(headers: Mapping[str, str] | None) -> bool:
    """Whether the server reads the body sent with these headers as a form (a token request's
    type is optional: without one, the body is a form)."""
    if headers is None:
        return False
    content_type = headers.get("content-type")
    return content_type is None or content_type.split(";")[0].strip().lower() == _FORM


def _redact_json(text: str) -> str | None:
    """``text`` redacted as parsed JSON, or None when it does not parse. The text is kept as sent
    when neither the parsed value nor the text holds a secret (a repeated key's first value is
    in the text only: ``{"password": "...", "password": null}``)."""
    try:
        parsed = json.loads(text)
        cleaned = redact(parsed)
    except (ValueError, RecursionError):
        return None
    if cleaned == parsed and _redact_text(text) == text:
        return text
    return json.dumps(cleaned, ensure_ascii=False)


def _redact_form(text: str) -> str:
    """``text`` redacted as a form: each value by its decoded name (what the server reads),
    names and other values scanned as text; unchanged when nothing in it is secret."""
    pairs = parse_qsl(text, keep_blank_values=True)
    cleaned = [(_redact_text(name), _redact_value(name, value)) for name, value in pairs]
    if cleaned == pairs:
        return text
    return "&".join(f"{quote_plus(n, safe='[]')}={quote_plus(v, safe='[]')}" for n, v in cleaned)


def _redact_body(text: str, form: bool) -> str:
    lowered = text.lower()
    if not (
        _names_a_secret(lowered)
        or "basic" in lowered
        or "bearer" in lowered
        or "MC" in text
        or "\\u" in text
        or "%" in text
    ):  # the schemes, escapes and encodings besides: every body passes here
        return text  # nothing any of the rules below would change
    if text.lstrip()[:1] in ("{", "["):
        cleaned = _redact_json(text)
        if cleaned is not None:
            return cleaned
    elif form:
        return _redact_form(text)
    return _scan(text)


def body_text(raw: bytes | str | None, *, form: bool = False) -> str | None:
    """A body as the journal keeps it: text (undecodable bytes replaced), redacted, and cut to
    ``MAX_BODY_CHARS`` with a marker naming how much was left out. Text already cut passes
    through unchanged (but for redaction, which is idempotent).

    A body that parses as JSON is redacted as its parsed value (``redact``) and written back as
    JSON; a ``form`` (that is not JSON) by the names the server decodes; any other body, and
    one larger than ``PARSE_LIMIT``, as text."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if len(raw) <= MAX_BODY_CHARS + _MARKER_ROOM:
            return _redact_body(raw, form)
        raw = raw.encode("utf-8", "surrogateescape")
    if len(raw) <= PARSE_LIMIT:
        text = _redact_body(raw.decode("utf-8", "replace"), form)
        if len(text) <= MAX_BODY_CHARS:
            return text
        kept = text[:MAX_BODY_CHARS]
        cut = len(text.encode("utf-8", "replace")) - len(kept.encode("utf-8", "replace"))
        return f"{kept}…[{cut} more bytes]"
    window = raw[: MAX_BODY_CHARS + BODY_MARGIN].decode("utf-8", "replace")
    text = _redact_form(window) if form and window.lstrip()[:1] not in ("{", "[") else _scan(window)
    kept = text[:MAX_BODY_CHARS]
    cut = len(raw) - len(kept.encode("utf-8", "replace"))
    return f"{kept}…[{max(cut, 0)} more bytes]" if cut > 0 else kept


def headers_kept(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """Headers as the journal keeps them: redacted, values clipped, at most ``MAX_HEADERS`` of
    them and ``MAX_HEADER_CHARS`` characters in all; when some are left out, a last entry
    ``HEADERS_LEFT_OUT`` says how many."""
    if headers is None:
        return None
    kept: dict[str, str] = {}
    room = MAX_HEADER_CHARS
    items = list(headers.items())
    for at, (name, value) in enumerate(items):
        if at == MAX_HEADERS:
            kept[HEADERS_LEFT_OUT] = f"[{len(items) - at} more headers]"
            break
        if name.lower() in _COOKIES:
            value = REDACTED
        elif _kind(name) is None:  # what redact() does for a mapping, without its dispatch
            value = _redact_text(value)
        else:
            value = _redact_value(name, value)
        if len(value) > MAX_FIELD_CHARS + _MARKER_ROOM:
            value = clip(value)
        name = name[:MAX_FIELD_CHARS]
        if name != HEADERS_LEFT_OUT:  # (no header sent has this name: it is not Latin-1)
            room -= len(name) + len(value)
        if room < 0:
            kept[HEADERS_LEFT_OUT] = f"[{len(items) - at} more headers]"
            break
        kept[name] = value
    return kept


_COOKIES = frozenset({"cookie", "set-cookie"})


def header_map(pairs: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """ASGI header pairs as one mapping (names lower-case; repeated names joined by ", ")."""
    out: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out
