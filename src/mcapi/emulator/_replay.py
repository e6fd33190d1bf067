"""Replay protection: an x-mc-req-id is accepted once within the replay window.

Memory by default; :class:`RedisReplayCache` when several emulator processes share one state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import redis


class ReplayCache(Protocol):
    def first_use(self, request_id: str, *, now: float, window: float) -> bool:
        """True the first time ``request_id`` is seen within ``window`` seconds."""
        ...

    def reset(self) -> None: ...


class MemoryReplayCache:
    """Remembers request ids in insertion order, forgetting those older than the window."""

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def first_use(self, request_id: str, *, now: float, window: float) -> bool:
        cutoff = now - window
        with self._lock:
            seen = self._seen
            # Ids are kept in the order first seen: forget the expired ones at the front.
            while seen:
                oldest = next(iter(seen))
                if seen[oldest] > cutoff and len(seen) < self._max:
                    break
                del seen[oldest]
            previous = seen.get(request_id)
            if previous is not None and previous > cutoff:
                return False
            seen[request_id] = now
            seen.move_to_end(request_id)
            return True

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


class RedisReplayCache:
    """``SET key NX`` with an expiry: atomic across processes."""

    def __init__(self, url: str, *, prefix: str = "mcapi:replay:") -> None:
        self._client = redis.Redis.from_url(url)
        self._prefix = prefix

    def first_use(self, request_id: str, *, now: float, window: float) -> bool:
        key = self._prefix + request_id
        return bool(self._client.set(key, str(now), nx=True, px=max(1, int(window * 1000))))

    def reset(self) -> None:
        batch = list(self._client.scan_iter(match=self._prefix + "*", count=1000))
        if batch:
            self._client.delete(*batch)
