"""The :class:`Emulator` facade: one object holding an emulator's state, app and controls."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._app import create_app
from mcapi.emulator._clock import Clock, RedisClock
from mcapi.emulator._config import EmulatorConfig
from mcapi.emulator._fault_engine import FaultEngine, RedisFaultEngine
from mcapi.emulator._journal import Journal, RedisJournal
from mcapi.emulator._operations import Admin
from mcapi.emulator._ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from mcapi.emulator._replay import MemoryReplayCache, RedisReplayCache, ReplayCache
from mcapi.emulator._shared import AwaitedConnection, CallReads, Pinnable
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._store import Store, ensure_demo
from mcapi.emulator._store._demo import DEMO_DATA
from mcapi.emulator._store._passwords import DEFAULT_N
from mcapi.emulator._store._seed import SeedSummary
from mcapi.emulator.functions import function_table
from mcapi.emulator.functions._registry import FunctionSpec

#: The base URL tests use with an in-process (ASGI transport) emulator.
IN_PROCESS_URL = "http://emulator.test"


@dataclass(frozen=True, slots=True)
class EmulatorCredentials:
    """What a client needs to call the demo tenant: the admin binding and the users' passwords."""

    base_url: str
    app_id: str
    app_key: str = field(repr=False)
    access_key: str
    secret_key: str = field(repr=False)
    admin_email: str
    admin_password: str | None = field(repr=False)
    reader_email: str
    reader_password: str | None = field(repr=False)
    disabled_email: str
    admin_token: str = field(repr=False)
    account_code: str
    #: every demo user's password, by address
    passwords: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: what ``load_demo(generate_data=True)`` generated when it created the tenant (counts by
    #: kind); empty when the tenant was there already or no data was asked for
    generated: Mapping[str, int] = field(default_factory=dict)
    #: the demo's API 2.0 application (the administrator's permissions); the secret is None once
    #: rotated
    client_id: str = ""
    client_secret: str | None = field(default=None, repr=False)

    def env2(self) -> dict[str, str]:
        """The API 2.0 variables (``MCAPI_CLIENT_ID``, ``MCAPI_CLIENT_SECRET``): when they are set,
        ``mcapi.Client.from_env()`` calls with OAuth 2.0 and ignores the 1.0 ones."""
        env = {"MCAPI_BASE_URL": self.base_url, "MCAPI_CLIENT_ID": self.client_id}
        if self.client_secret is not None:
            env["MCAPI_CLIENT_SECRET"] = self.client_secret
        return env

    def env(self) -> dict[str, str]:
        """The ``MCAPI_*`` variables that ``mcapi.Client.from_env()`` reads."""
        return {
            "MCAPI_BASE_URL": self.base_url,
            "MCAPI_APP_ID": self.app_id,
            "MCAPI_APP_KEY": self.app_key,
            "MCAPI_ACCESS_KEY": self.access_key,
            "MCAPI_SECRET_KEY": self.secret_key,
            "MCAPI_ADMIN_TOKEN": self.admin_token,
        }


def default_redis_namespace(db_url: str) -> str:
    """A deployment's Redis namespace when none is given: a digest of its database URL without
    the password (every process of one deployment opens the same database), or a random one for
    an in-memory SQLite database, which no other process can share."""
    url = sa.make_url(db_url)
    if url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    ):
        return f"mem-{uuid.uuid4().hex[:16]}"
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and not database.startswith("file:"):
        url = url.set(database=os.path.abspath(database))  # one file, however it is named
    identity = url.render_as_string(hide_password=True)
    return f"db-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


class Emulator:
    """An emulator of the Mimecast API 1.0 platform.

    ``db_url`` is any SQLAlchemy URL (``sqlite://`` keeps everything in memory); ``redis_url``
    shares rate limits, replay protection, the clock, fault rules and the journal between
    processes, under the keys of ``EmulatorConfig.redis_namespace``. ``kdf_n`` is the scrypt
    cost of password hashes (lower it in tests: logins then take microseconds instead of tens of
    ms).

    Drive it with :attr:`admin` (users, policies, bindings, generated data, seed, reset, a
    validated clock change), :attr:`clock`, :attr:`faults` (forced quotas included:
    ``FaultRule.forced_quota``) and :attr:`journal`; :attr:`store` is the internal database
    layer, not a stable API.
    """

    def __init__(
        self,
        db_url: str = "sqlite:///mcapi-emulator.db",
        *,
        admin_token: str | None = None,
        kdf_n: int = DEFAULT_N,
        redis_url: str | None = None,
        config: EmulatorConfig | None = None,
        base_url: str = IN_PROCESS_URL,
    ) -> None:
        token = admin_token or (config.admin_token if config else "") or secrets.token_urlsafe(24)
        settings = config or EmulatorConfig()
        if settings.admin_token != token:
            from dataclasses import replace

            settings = replace(settings, admin_token=token)
        self.store = Store(db_url, kdf_n=kdf_n)
        self.store.create_all()
        limiter: RateLimiter = MemoryRateLimiter()
        replay: ReplayCache = MemoryReplayCache()
        clock = Clock()
        faults = FaultEngine()
        journal = Journal(settings.journal_size)
        call_reads: CallReads | None = None
        #: The prefix of this deployment's Redis keys (``mcapi:<namespace>:``), when it uses Redis.
        self.redis_namespace: str | None = None
        if redis_url:
            namespace = settings.redis_namespace or default_redis_namespace(db_url)
            self.redis_namespace = namespace
            # One connection for the round trips every call awaits: they go out together.
            awaited = AwaitedConnection(redis_url)
            limiter = RedisRateLimiter(
                redis_url, prefix=f"mcapi:{namespace}:ratelimit:", awaited=awaited
            )
            replay = RedisReplayCache(redis_url, prefix=f"mcapi:{namespace}:replay:")
            shared = self.store.dialect != "sqlite"  # SQLite's own data_version already tells
            if shared:
                self.store.share_changes(redis_url, f"mcapi:{namespace}:store:changes")
            redis_clock = RedisClock(redis_url, key=f"mcapi:{namespace}:clock")
            redis_faults = RedisFaultEngine(redis_url, prefix=f"mcapi:{namespace}:faults:")
            clock, faults = redis_clock, redis_faults
            journal = RedisJournal(
                redis_url, key=f"mcapi:{namespace}:journal", maxlen=settings.journal_size,
                awaited=awaited,
            )  # fmt: skip
            # Each call reads the clock, the rules and the change counter in one round trip.
            owners: tuple[Pinnable, ...] = (redis_clock, redis_faults)
            call_reads = CallReads(awaited, (*owners, self.store) if shared else owners)
        self.state = EmulatorState(
            store=self.store,
            functions=function_table(),
            config=settings,
            clock=clock,
            faults=faults,
            limiter=limiter,
            replay=replay,
            journal=journal,
            redis_url=redis_url or None,
            call_reads=call_reads,
        )
        self.app = create_app(self.state)
        self.base_url = base_url
        #: The administrator's operations (users, policies, bindings, data, seed, reset, clock):
        #: the same implementation the admin API's routes call.
        self.admin = Admin(self.state)

    # ---- handles --------------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def faults(self) -> FaultEngine:
        return self.state.faults

    @property
    def journal(self) -> Journal:
        return self.state.journal

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    @property
    def admin_token(self) -> str:
        return self.state.config.admin_token

    @property
    def functions(self) -> Mapping[str, FunctionSpec]:
        return self.state.functions

    # ---- state ----------------------------------------------------------------------------------
    def load_demo(self, *, generate_data: bool = False) -> EmulatorCredentials:
        """Create the demo tenant unless it exists; return its credentials.

        With ``generate_data``, the call that creates the tenant also fills it with a small
        generated dataset (25 people, 3 days of mail, held messages, audit events, click logs,
        SIEM files; seed 1), as ``serve --demo`` does; a tenant that exists is left as it is."""
        demo = ensure_demo(self.store, now=self.clock.now())
        generated = {}
        if demo.created and generate_data:
            generated = self.admin.generate(
                demo.account_code, **DEMO_DATA.as_kwargs(), progress=None
            )
        passwords = demo.passwords
        return EmulatorCredentials(
            base_url=self.base_url,
            app_id=demo.app_id,
            app_key=demo.app_key,
            access_key=demo.access_key,
            secret_key=demo.secret_key,
            admin_email=demo.admin_email,
            admin_password=demo.admin_password,
            reader_email="reader@demo.example",
            reader_password=passwords.get("reader@demo.example"),
            disabled_email="former@demo.example",
            admin_token=self.admin_token,
            account_code=demo.account_code,
            passwords=dict(passwords),
            generated=generated,
            client_id=demo.client_id,
            client_secret=demo.client_secret,
        )

    def seed(self, document: Mapping[str, Any]) -> SeedSummary:
        """Load a seed document (docs/seed-file.md); ``admin.seed``."""
        return self.admin.seed(document)

    def generate(
        self, account_code: str, *, seed: int = 1, users: int = 50, days: int = 7,
        messages_per_user_day: int = 20,
    ) -> dict[str, int]:  # fmt: skip
        """Fill an account with deterministic data: shorthand for ``admin.generate``."""
        return self.admin.generate(
            account_code, seed=seed, users=users, days=days,
            messages_per_user_day=messages_per_user_day,
        )  # fmt: skip

    def reset(self) -> None:
        """Empty every table and forget faults, quotas, replays and the journal; ``admin.reset``."""
        self.admin.reset()

    def close(self) -> None:
        self.state.jobs.close()
        self.store.close()
        if isinstance(self.state.clock, RedisClock):
            self.state.clock.close()
        if isinstance(self.state.faults, RedisFaultEngine):
            self.state.faults.close()
        if isinstance(self.state.journal, RedisJournal):
            self.state.journal.close()
        if self.state.call_reads is not None:
            self.state.call_reads.close()
        if isinstance(self.state.limiter, RedisRateLimiter):
            self.state.limiter.close()
