"""Replay protection: an x-mc-req-id is accepted once within the replay window.

Memory by default; :class:`RedisReplayCache` when several emulator processes share one state.
A request id longer than ``MAX_ID_CHARS`` is remembered by its SHA-256 digest, so that what one
remembered id costs is bounded whatever a caller sends; the memory cache is bounded both in ids
and in the characters it holds, forgetting the oldest first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Protocol

import redis

#: Request ids up to this long are kept as they are (a GUID has 36 characters).
MAX_ID_CHARS = 64


def replay_key(request_id: str) -> str:
    """What the cache remembers of ``request_id``: itself, or a digest when it is long."""
    if len(request_id) <= MAX_ID_CHARS:
        return request_id
    digest = hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"


def expiry_ms(window: float) -> int:
    """How long Redis keeps a request id: the window, at least a millisecond."""
    return max(1, int(window * 1000))


class ReplayCache(Protocol):
    def first_use(self, request_id: str, *, now: float, window: float) -> bool:
        """True the first time ``request_id`` is seen within ``window`` seconds."""
        ...

    def reset(self) -> None: ...


class MemoryReplayCache:
    """Remembers request ids in insertion order, forgetting those older than the window."""

    def __init__(self, max_entries: int = 1_000_000, max_chars: int = 64 * 1024 * 1024) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._max_chars = max_chars
        self._chars = 0

    @property
    def chars(self) -> int:
        """The characters of the ids remembered now."""
        return self._chars

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, request_id: str, *, now: float, window: float) -> bool:
        key = replay_key(request_id)
        cutoff = now - window
        with self._lock:
            seen = self._seen
            # Ids are kept in the order first seen: forget the expired ones at the front, and the
            # oldest while either bound would be passed.
            while seen:
                oldest = next(iter(seen))
                if (
                    seen[oldest] > cutoff
                    and len(seen) < self._max
                    and self._chars + len(key) <= self._max_chars
                ):
                    break
                del seen[oldest]
                self._chars -= len(oldest)
            previous = seen.get(key)
            if previous is not None and previous > cutoff:
                return False
            if previous is None:
                self._chars += len(key)
            seen[key] = now
            seen.move_to_end(key)
            return True

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
            self._chars = 0


class RedisReplayCache:
    """``SET key NX`` with an expiry: atomic across processes. A signed call's check is made by
    the shared rate limiter's script, in the quota step's round trip
    (``RedisRateLimiter.acquire_first_use``; see ``mcapi.emulator._pipeline._binding``)."""

    def __init__(self, url: str, *, prefix: str = "mcapi:replay:") -> None:
        self._client = redis.Redis.from_url(url)
        self._prefix = prefix

    def key(self, request_id: str) -> str:
        """The Redis key that remembers ``request_id``."""
        return self._prefix + replay_key(request_id)

    def first_use(self, request_id: str, *, now: float, window: float) -> bool:
        return bool(self._client.set(self.key(request_id), str(now), nx=True, px=expiry_ms(window)))

    def reset(self) -> None:
        batch = list(self._client.scan_iter(match=self._prefix + "*", count=1000))
        if batch:
            self._client.delete(*batch)
