"""Fixtures for the collector tests: a served emulator with generated data, on a frozen clock.

Time is the emulator's: its clock is frozen; the client and the collector read it, and their
``sleep`` advances it instead of sleeping (with a moment of real time, so that answers in flight
on the loopback socket arrive).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from mcapi.client import AttemptEvent, Client
from mcapi.collect import CollectEvent
from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials
from mcapi.emulator._data import generate
from mcapi.emulator._faults import FaultRule
from mcapi.testing import serve

KDF_N = 2**10


@dataclass
class Tenant:
    """A served emulator with generated data, and helpers to drive a collector against it."""

    emu: Emulator
    demo: EmulatorCredentials
    base_url: str
    sleeps: list[float] = field(default_factory=list)
    events: list[CollectEvent] = field(default_factory=list)
    attempts: list[AttemptEvent] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.emu.clock.advance(seconds)
        time.sleep(0.0005)

    def client(self, *, password: bool = False, api2: bool = False, **options: Any) -> Client:
        """A client of the demo administrator's binding, or (``api2``) of the demo's API 2.0
        application."""
        keys: dict[str, Any] = {
            "base_url": self.base_url, "app_id": self.demo.app_id, "app_key": self.demo.app_key,
            "access_key": self.demo.access_key, "secret_key": self.demo.secret_key,
        }  # fmt: skip
        if api2:
            keys = {
                "base_url": self.base_url,
                "client_id": self.demo.client_id,
                "client_secret": self.demo.client_secret,
            }
        if password:
            keys["email"] = self.demo.admin_email
            keys["password"] = self.demo.admin_password
        defaults: dict[str, Any] = {
            "clock": self.emu.clock.now, "sleep": self.sleep, "random": random.Random(5),
        }  # fmt: skip
        defaults.update(options)
        return Client(**keys, **defaults)

    def fault(self, rule: dict[str, Any]) -> None:
        self.emu.faults.add(FaultRule.from_dict(rule))

    def quota(self, **fields: Any) -> None:
        account = self.emu.store.find_account(self.demo.account_code)
        assert account is not None
        self.emu.store.update_account_policy(account.id, **fields)


def make_tenant(emu: Emulator, *, users: int = 20, days: int = 2, seed: int = 7) -> None:
    demo = emu.load_demo()
    account = emu.store.find_account(demo.account_code)
    assert account is not None
    emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    generate(emu.store, account.id, seed=seed, users=users, days=days, now=emu.clock.now())


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    emulator = Emulator("sqlite://", kdf_n=KDF_N, config=EmulatorConfig(skew_reference="either"))
    emulator.clock.freeze()
    make_tenant(emulator)
    try:
        with serve(emulator) as base_url:
            yield Tenant(emulator, emulator.load_demo(), base_url)
    finally:
        emulator.close()


def read_output(directory: Path, stream: str) -> list[dict[str, Any]]:
    """Every record of a stream's files, in write order."""
    files = sorted(directory.glob(f"{stream}-*.jsonl"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    current = directory / f"{stream}.jsonl"
    if current.exists():
        files.append(current)
    out = []
    for path in files:
        out.extend(orjson.loads(line) for line in path.read_bytes().splitlines())
    return out


def cli_env(tenant: Tenant, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``mcapi collect`` subprocess bound to the tenant (no profile)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MCAPI_")}
    demo = tenant.demo
    env.update(
        MCAPI_BASE_URL=tenant.base_url, MCAPI_APP_ID=demo.app_id, MCAPI_APP_KEY=demo.app_key,
        MCAPI_ACCESS_KEY=demo.access_key, MCAPI_SECRET_KEY=demo.secret_key,
        MCAPI_CONFIG=str(tmp_path / "no-profiles.toml"),
    )  # fmt: skip
    return env
