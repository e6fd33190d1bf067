"""The emulator's clock.

Everything in the emulator that depends on time (binding TTLs, lockouts, rate-limit refills, the
replay window, SIEM file production) reads this clock, never ``time`` directly, so that tests can
freeze it, set it, or move it forward instead of sleeping.

The clock is real by default. ``freeze()`` stops it at the current instant; ``set()`` puts it at a
given instant (and freezes it); ``advance()`` moves it forward by a duration, whether frozen or not
(a running clock keeps running from the new offset); ``resume()`` makes a frozen clock run again
from where it stands.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """A clock that runs in real time by default and can be frozen, set or advanced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return time.time() + self._offset

    @staticmethod
    def wall() -> float:
        """The machine's real time, whatever the emulator clock says: what integrations sign
        ``x-mc-date`` with (read here so that every reading of time stays in this module)."""
        return time.time()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> float:
        """Stop the clock at the current instant; returns that instant."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.time() + self._offset
            return self._frozen_at

    def resume(self) -> None:
        """Let a frozen clock run again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def set(self, epoch_seconds: float) -> None:
        """Put the clock at ``epoch_seconds`` and freeze it there."""
        with self._lock:
            self._frozen_at = float(epoch_seconds)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (never backwards); returns the new time."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
                return self._frozen_at
            self._offset += seconds
            return time.time() + self._offset

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None

    def state(self) -> dict[str, object]:
        now = self.now()
        return {
            "now": now,
            "iso": datetime.fromtimestamp(now, tz=UTC).isoformat(),
            "frozen": self.frozen,
        }
