"""How a served emulator listens: the bounds it puts on clients, HTTPS, which hosts are local.

Plain data and checks, no server import: ``mcapi emulator serve`` builds these from its options
and :mod:`mcapi.emulator._serve` hands them to uvicorn (the bounds through the protocol of
:mod:`mcapi.emulator._http`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEAD_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "ServeLimits",
    "TlsFiles",
    "is_loopback",
]

#: Connections served at once by default (the emulator's own choice; one more is answered 503).
DEFAULT_MAX_CONNECTIONS = 1000
#: Seconds a request may take to arrive whole, head and body (the emulator's own default).
DEFAULT_REQUEST_TIMEOUT = 30.0
#: The largest request line and headers read (the emulator's own bound: a signed call's head is
#: under 1 KiB; 16 KiB is what common servers accept by default).
DEFAULT_MAX_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class ServeLimits:
    """What one client may make a served emulator hold or wait for (``serve`` options).

    ``request_timeout``: seconds a request may take to arrive whole, head and body (``None``: no
    limit); ``max_connections``: connections served at once, a request on one more answered 503
    (``None``: no limit); ``max_head_bytes``: the largest request line and headers (431 beyond).
    """

    request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT
    max_connections: int | None = DEFAULT_MAX_CONNECTIONS
    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES

    def __post_init__(self) -> None:
        if self.request_timeout is not None and self.request_timeout <= 0:
            raise ValueError(f"the request timeout must be positive, got {self.request_timeout}")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"max connections must be at least 1, got {self.max_connections}")


@dataclass(frozen=True)
class TlsFiles:
    """A PEM certificate (chain) and its private key: the server then speaks HTTPS."""

    cert: Path
    key: Path

    def check(self) -> None:
        """Raise ``ValueError`` naming the problem unless the pair loads (checked before serving:
        uvicorn would otherwise fail in its own thread, after the banner)."""
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(str(self.cert), str(self.key))
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"cannot use the TLS certificate {self.cert} with the key {self.key}: {exc}"
            ) from None


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) accepts connections from this machine only."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address
