"""URL Protect links: how the emulator rewrites a URL in delivered mail, and how it decodes one.

The platform's rewritten links are opaque. The emulator's are
``https://protect-<region>.mimecast.com/s/<base64url of the URL>?domain=<host>``: recognisably
Mimecast-shaped, and decodable without any state, so decode-url works on every link the
emulator ever delivered (archive message bodies carry them in the DELIVERED context).
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

__all__ = ["protect_url", "unprotect_url"]

_PROTECT_HOST = re.compile(r"^protect(-[a-z0-9]+)?\.mimecast\.com$")


def protect_url(url: str, region: str = "us") -> str:
    """The URL Protect link that stands for ``url``."""
    token = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    host = urlsplit(url).hostname or ""
    return f"https://protect-{region}.mimecast.com/s/{token}?domain={host}"


def unprotect_url(link: str) -> str | None:
    """The original URL of a URL Protect link, or None when ``link`` is not one."""
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    if parts.scheme != "https" or not _PROTECT_HOST.match(parts.hostname or ""):
        return None
    if not parts.path.startswith("/s/"):
        return None
    token = parts.path[3:]
    try:
        url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None
