"""Settings of one emulator instance (what a user may reasonably want to change)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Emulator settings. Account policies (lockout, TTL, quotas, IP ranges) live in the store."""

    #: How far x-mc-date may be from the emulator clock, either way (the platform does not say;
    #: 15 minutes is the emulator's choice, as for most HMAC-signed APIs).
    skew_seconds: float = 900.0
    #: Request ids are remembered this long to refuse replays (at least the skew window, so that a
    #: replay is refused either for its id or for its date).
    replay_seconds: float = 1800.0
    #: Bounded request journal.
    journal_size: int = 1000
    #: The token the admin API requires (``Authorization: Bearer <token>``).
    admin_token: str = ""
    #: Take the client address from the first ``X-Forwarded-For`` hop (behind a proxy, or to test
    #: permitted IP ranges from one machine).
    trust_forwarded_for: bool = False
    #: Calls and reset interval (ms) of the per-address bucket that counts calls made before a
    #: user is known (login, discovery, refused credentials); it fills the X-RateLimit headers.
    anonymous_quota: tuple[int, int] = (300, 1000)
    #: The region base URL discover-authentication answers with (``None``: the request's own).
    public_base_url: str | None = None
