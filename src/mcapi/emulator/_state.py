"""Everything one emulator instance holds: state, clock, limiter, faults, journal, settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mcapi.emulator._clock import Clock
from mcapi.emulator._config import EmulatorConfig
from mcapi.emulator._fault_engine import FaultEngine
from mcapi.emulator._jobs import JobRunner
from mcapi.emulator._journal import Journal
from mcapi.emulator._ratelimit import MemoryRateLimiter, RateLimiter
from mcapi.emulator._replay import MemoryReplayCache, ReplayCache
from mcapi.emulator._shared import CallReads
from mcapi.emulator._store import Store
from mcapi.emulator.functions._registry import FunctionSpec


@dataclass(slots=True)
class EmulatorState:
    """The shared objects every request of one emulator reads."""

    store: Store
    functions: Mapping[str, FunctionSpec]
    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    clock: Clock = field(default_factory=Clock)
    limiter: RateLimiter = field(default_factory=MemoryRateLimiter)
    faults: FaultEngine = field(default_factory=FaultEngine)
    journal: Journal = field(default_factory=Journal)
    replay: ReplayCache = field(default_factory=MemoryReplayCache)
    #: The Redis URL the limiter and replay cache use, if any (probed by ``/_emulator/ready``).
    redis_url: str | None = None
    #: The admin operations that run off the event loop (``/_emulator/jobs``).
    jobs: JobRunner = field(default_factory=JobRunner)
    #: A shared deployment's one round trip at the start of every call (clock, fault rules,
    #: the store's change counter).
    call_reads: CallReads | None = None
