"""Names shared by the client, the emulator and the CLI, defined once here.

This module imports nothing, so that the base install (without the ``emulator`` extra) and the
CLI, which must not import the emulator to print its help, can read the same values the emulator
serves with.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_OAUTH_BASE_URL",
    "DEFAULT_PORT",
    "DISCOVER_PATH",
    "LOGIN_PATH",
    "LOG_LEVELS",
    "REDACTED",
    "TOKEN_PATH",
    "TOKEN_TTL_SECONDS",
]

#: The two unsigned functions: discovery of the region's base URL, and login (a new binding).
DISCOVER_PATH = "/api/login/discover-authentication"
LOGIN_PATH = "/api/login/login"
#: API 2.0: the token endpoint (OAuth 2.0 client credentials), the life of its tokens, and the
#: global gateway (regional ones: uk-api.services.mimecast.com, us-api.services.mimecast.com).
TOKEN_PATH = "/oauth/token"
TOKEN_TTL_SECONDS = 1800
DEFAULT_OAUTH_BASE_URL = "https://api.services.mimecast.com"

#: Where ``mcapi emulator serve`` listens unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
#: The log levels of the emulator's server (uvicorn's names).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

#: What the journal, the CLI and logs show in place of a secret.
REDACTED = "[redacted]"
