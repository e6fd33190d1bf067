"""Settings of one emulator instance (what a user may reasonably want to change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: What ``x-mc-date`` is compared with (see :attr:`EmulatorConfig.skew_reference`).
SkewReference = Literal["wall", "emulator", "either"]


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Emulator settings. Account policies (lockout, TTL, quotas, IP ranges) live in the store."""

    #: How far x-mc-date may be from the emulator clock, either way (the platform does not say;
    #: 15 minutes is the emulator's choice, as for most HMAC-signed APIs).
    skew_seconds: float = 900.0
    #: What x-mc-date is compared with. ``"wall"`` (the default): the machine's real time, as
    #: integrations sign with the wall clock and cannot know the emulator's; moving the emulator
    #: clock then expires bindings (418) without refusing every signature (401 0004).
    #: ``"emulator"``: the emulator's clock, for tests that sign with it. ``"either"``: a date
    #: within the window of either clock passes (the pytest plugin's fixtures: both kinds of
    #: caller work). Replays are remembered on the same clock the dates are checked against.
    skew_reference: SkewReference = "wall"
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
    #: The prefix of every Redis key this deployment writes (rate-limit buckets, replay ids), so
    #: that several deployments can share one Redis database without sharing quotas or resetting
    #: each other. ``None``: derived from the database URL (the processes of one deployment share
    #: it; an in-memory database gets a namespace of its own).
    redis_namespace: str | None = None
