"""Names shared by the client, the emulator and the CLI, defined once here.

This module imports nothing, so that the base install (without the ``emulator`` extra) and the
CLI, which must not import the emulator to print its help, can read the same values the emulator
serves with.
"""

from __future__ import annotations

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DISCOVER_PATH", "LOGIN_PATH", "LOG_LEVELS", "REDACTED"]

#: The two unsigned functions: discovery of the region's base URL, and login (a new binding).
DISCOVER_PATH = "/api/login/discover-authentication"
LOGIN_PATH = "/api/login/login"

#: Where ``mcapi emulator serve`` listens unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
#: The log levels of the emulator's server (uvicorn's names).
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

#: What the journal, the CLI and logs show in place of a secret.
REDACTED = "[redacted]"
