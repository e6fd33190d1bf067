"""The fault engines: the installed ``FaultRule``s, in order, and the calls each matched.

``FaultEngine`` keeps the rules and their counts in memory (one process); ``RedisFaultEngine``
keeps them in the deployment's Redis namespace, so that every process of a shared deployment
applies the same rules and numbers the calls of all of them as one sequence (a call reads the
rules once, at its start, with the rest of what it needs from Redis: ``_shared``).
"""

from __future__ import annotations

import builtins
import fnmatch
import itertools
import json
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from mcapi.emulator._faults import STEPS, FaultRule, Step
from mcapi.emulator._shared import pinned
from mcapi.emulator._validation import InvalidInput


def _draw(rule: FaultRule, call: int) -> bool:
    """Whether the ``call``-th matching call of ``rule`` fires, given its ``probability``: a
    seeded rule's draw for a call depends on its seed and the call's number only, so a run repeats
    exactly, and the processes of a shared deployment draw as one."""
    if rule.probability is None:
        return True
    if rule.seed is None:
        return random.random() < rule.probability
    return random.Random(f"{rule.seed}:{call}").random() < rule.probability


def _in_window(rule: FaultRule, call: int) -> bool:
    start, length = rule.window
    return not (call < start or (length is not None and call >= start + length))


def _matches(rule: FaultRule, user: str | None, path: str, folded: str | None) -> bool:
    """``user`` is the rule's user casefolded, ``folded`` the caller's."""
    if user is not None and user != folded:
        return False
    return rule.path == path or fnmatch.fnmatchcase(path, rule.path)


@dataclass(slots=True)
class _Live:
    rule: FaultRule
    calls: int = 0
    applied: int = 0
    user: str | None = field(default=None)

    def consider(self, path: str, user: str | None) -> bool:
        """Count this call if it matches; True if the rule fires on it."""
        if not _matches(self.rule, self.user, path, user):
            return False
        self.calls += 1
        return _in_window(self.rule, self.calls) and _draw(self.rule, self.calls)


class FaultEngine:
    """The installed fault rules, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, _Live] = {}
        self._ids = itertools.count(1)
        #: step -> how many rules it has: a call skips the lock when its step has none
        self._steps: dict[Step, int] = dict.fromkeys(STEPS, 0)

    def add(self, rule: FaultRule) -> str:
        """Install ``rule`` after the existing ones; returns its id (given, or ``f1``, ``f2``…)."""
        with self._lock:
            rule_id = rule.id or f"f{next(self._ids)}"
            while rule.id is None and rule_id in self._rules:
                rule_id = f"f{next(self._ids)}"
            if rule_id in self._rules:
                raise InvalidInput("id", f"a fault rule {rule_id!r} already exists")
            user = rule.user.casefold() if rule.user else None
            self._rules[rule_id] = _Live(replace(rule, id=rule_id), user=user)
            self._steps[rule.at] += 1
            return rule_id

    def remove(self, rule_id: str) -> None:
        """Uninstall a rule; KeyError if there is none with that id."""
        with self._lock:
            live = self._rules.pop(rule_id)
            self._steps[live.rule.at] -= 1

    def clear(self) -> None:
        """Uninstall every rule, quota rules included."""
        with self._lock:
            self._rules.clear()
            self._steps = dict.fromkeys(STEPS, 0)

    def list(self) -> builtins.list[FaultRule]:
        """The installed rules, in order."""
        with self._lock:
            return [live.rule for live in self._rules.values()]

    def state(self) -> builtins.list[dict[str, Any]]:
        """Each rule's JSON form, the calls it matched (``calls``) and won (``applied``)."""
        with self._lock:
            return [
                {**live.rule.to_dict(), "calls": live.calls, "applied": live.applied}
                for live in self._rules.values()
            ]

    def has_rules(self, at: Step) -> bool:
        """Whether any rule is installed at step ``at`` (nothing is counted)."""
        return bool(self._steps[at])

    def match(self, path: str, user: str | None, at: Step = "fault") -> FaultRule | None:
        """Count this call against every rule of step ``at``; the first rule that fires, or
        None."""
        if not self._steps[at]:
            return None
        folded = user.casefold() if user else None
        winner: _Live | None = None
        with self._lock:
            for live in self._rules.values():
                if live.rule.at == at and live.consider(path, folded) and winner is None:
                    winner = live
            if winner is None:
                return None
            winner.applied += 1
            return winner.rule


class RedisFaultEngine(FaultEngine):
    """The fault rules of a shared deployment, kept in Redis under ``prefix``: a rule added,
    removed or cleared through one process applies on all of them, and each rule's ``calls`` and
    ``applied`` are counted once for the deployment (``HINCRBY``), so ``call_number`` and
    ``times`` windows span every process.

    Keys: ``<prefix>rules`` (the JSON list of the rules, in order, each with a serial number that
    is never reused), ``<prefix>counts`` (a hash of ``<serial>:calls`` and ``<serial>:applied``),
    ``<prefix>ids`` and ``<prefix>serial`` (counters)."""

    def __init__(self, redis_url: str, *, prefix: str) -> None:
        super().__init__()
        self._client: redis.Redis = redis.Redis.from_url(redis_url)
        self._rules_key = f"{prefix}rules"
        self._counts_key = f"{prefix}counts"
        self._ids_key = f"{prefix}ids"
        self._serial_key = f"{prefix}serial"
        #: the raw list last read and what it parses to: (serial, rule, casefolded user)
        self._cache: tuple[bytes, builtins.list[tuple[int, FaultRule, str | None]]] = (b"", [])
        #: Changes made through this engine (a call's pinned rules read before one are stale).
        self.epoch = 0

    @property
    def pinned_key(self) -> str:
        """The key a call of the deployment reads at its start (``mcapi.emulator._shared``)."""
        return self._rules_key

    def _parse(self, raw: Any) -> builtins.list[tuple[int, FaultRule, str | None]]:
        if not isinstance(raw, bytes) or not raw:
            return []
        cached_raw, parsed = self._cache
        if raw == cached_raw:
            return parsed
        parsed = []
        for entry in json.loads(raw):
            rule = FaultRule.from_dict(entry["rule"])
            parsed.append((int(entry["serial"]), rule, rule.user.casefold() if rule.user else None))
        self._cache = (raw, parsed)
        return parsed

    def _load(self) -> builtins.list[tuple[int, FaultRule, str | None]]:
        found, raw = pinned(self)
        return self._parse(raw if found else self._client.get(self._rules_key))

    @staticmethod
    def _dump(rules: Sequence[tuple[int, FaultRule, str | None]]) -> str:
        return json.dumps([{"serial": serial, "rule": rule.to_dict()} for serial, rule, _ in rules])

    def add(self, rule: FaultRule) -> str:
        serial = int(self._client.incr(self._serial_key))
        given = rule.id
        chosen: builtins.list[str] = []

        def apply(pipe: Any) -> None:
            rules = self._parse(pipe.get(self._rules_key))
            taken = {r.id for _, r, _ in rules}
            rule_id = given
            while rule_id is None or (given is None and rule_id in taken):
                rule_id = f"f{int(self._client.incr(self._ids_key))}"
            if rule_id in taken:
                raise InvalidInput("id", f"a fault rule {rule_id!r} already exists")
            installed = replace(rule, id=rule_id)
            user = rule.user.casefold() if rule.user else None
            pipe.multi()
            pipe.set(self._rules_key, self._dump([*rules, (serial, installed, user)]))
            chosen[:] = [rule_id]

        try:
            self._client.transaction(apply, self._rules_key)
        finally:
            self.epoch += 1
        return chosen[0]

    def remove(self, rule_id: str) -> None:
        def apply(pipe: Any) -> None:
            rules = self._parse(pipe.get(self._rules_key))
            gone = [serial for serial, rule, _ in rules if rule.id == rule_id]
            if not gone:
                raise KeyError(rule_id)
            pipe.multi()
            kept = [entry for entry in rules if entry[1].id != rule_id]
            pipe.set(self._rules_key, self._dump(kept))
            pipe.hdel(self._counts_key, f"{gone[0]}:calls", f"{gone[0]}:applied")

        try:
            self._client.transaction(apply, self._rules_key)
        finally:
            self.epoch += 1

    def clear(self) -> None:
        try:
            self._client.delete(self._rules_key, self._counts_key)
        finally:
            self.epoch += 1

    def list(self) -> builtins.list[FaultRule]:
        return [rule for _, rule, _ in self._load()]

    def state(self) -> builtins.list[dict[str, Any]]:
        rules = self._load()
        counts = self._client.hgetall(self._counts_key)

        def count(serial: int, name: str) -> int:
            return int(counts.get(f"{serial}:{name}".encode(), 0))

        return [
            {**rule.to_dict(), "calls": count(serial, "calls"), "applied": count(serial, "applied")}
            for serial, rule, _ in rules
        ]

    def has_rules(self, at: Step) -> bool:
        return any(rule.at == at for _, rule, _ in self._load())

    def match(self, path: str, user: str | None, at: Step = "fault") -> FaultRule | None:
        rules = [
            (serial, rule)
            for serial, rule, rule_user in self._load()
            if rule.at == at and _matches(rule, rule_user, path, user.casefold() if user else None)
        ]
        if not rules:
            return None
        pipe = self._client.pipeline(transaction=False)
        for serial, _ in rules:
            pipe.hincrby(self._counts_key, f"{serial}:calls", 1)
        numbers = pipe.execute()
        for (serial, rule), number in zip(rules, numbers, strict=True):
            if _in_window(rule, int(number)) and _draw(rule, int(number)):
                self._client.hincrby(self._counts_key, f"{serial}:applied", 1)
                return rule
        return None

    def close(self) -> None:
        self._client.close()
