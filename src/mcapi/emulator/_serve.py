"""Run an :class:`~mcapi.emulator.Emulator` with uvicorn: in the foreground or in a thread.

``mcapi emulator serve`` calls :func:`start` (socket, database, seed, demo tenant: everything that
can fail before serving, as a :class:`StartFailure`) then :func:`run` (blocks until Ctrl-C or
SIGTERM); the pytest plugin and scripts call :func:`serve_in_thread` (a context manager yielding
the base URL of a server on a loopback socket, port 0 by default, with bounded start and stop).

Both bind the listening socket themselves before uvicorn starts, so the real port is known when
port 0 was asked for, and a port already taken fails at once with an ``OSError`` instead of
uvicorn's ``sys.exit``. uvicorn's proxy-header rewriting is off: a caller's address comes from
``X-Forwarded-For`` only with ``trust_forwarded_for``, and discovery answers the configured public
URL whatever the Host header says. Access logging is off by default (it costs a noticeable share
of the throughput), and the ``uvicorn.error`` logger gets ``TransportFaultLogFilter`` so that
deliberate transport faults (docs/faults.md) are not logged as application crashes.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcapi._constants import DEFAULT_HOST, LOG_LEVELS
from mcapi.emulator._fault_transport import TransportFaultLogFilter
from mcapi.emulator._serve_options import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    ServeLimits,
    TlsFiles,
    is_loopback,
)

if TYPE_CHECKING:
    import uvicorn

    from mcapi.emulator._config import SkewReference
    from mcapi.emulator._emulator import Emulator, EmulatorCredentials

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEAD_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "ServeLimits",
    "ServerStartError",
    "StartFailure",
    "Started",
    "TlsFiles",
    "attach_fault_filter",
    "bind_socket",
    "build_server",
    "check_redis",
    "database_url",
    "describe_counts",
    "display_url",
    "is_loopback",
    "open_emulator",
    "run",
    "run_workers",
    "seed_once",
    "serve_in_thread",
    "start",
    "workers_refusal",
]


class ServerStartError(RuntimeError):
    """The server did not start listening within the allotted time (or died starting)."""


class StartFailure(Exception):
    """``serve`` cannot start: exit code 1 (port, database, Redis), 2 (the seed; nothing loaded)."""

    def __init__(self, message: str, exit_code: int = 1, *, port_taken: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        #: the port is in use by another socket (the CLI says how to pick another)
        self.port_taken = port_taken


@dataclass
class Started:
    """What :func:`start` prepared: serve ``emulator`` on ``sock``."""

    emulator: Emulator
    sock: socket.socket
    base_url: str
    db_url: str
    credentials: EmulatorCredentials | None
    seeded: str | None
    tls: TlsFiles | None = None


def start(
    *,
    host: str,
    port: int,
    db: str,
    seed_file: Path | None = None,
    demo: bool = False,
    tls: TlsFiles | None = None,
    **options: Any,
) -> Started:
    """Everything ``serve`` does before serving: read the seed file, check Redis, listen, open the
    database (:func:`open_emulator` takes ``options``), load the seed once and the demo tenant
    (with its generated data when the tenant is new). Raises :class:`StartFailure`; on a seed
    error a SQLite file this call created is removed again."""
    from mcapi.emulator._store import SeedError, load_seed_file

    try:
        document = None if seed_file is None else load_seed_file(seed_file)
    except SeedError as exc:
        raise StartFailure(_not_loaded(exc), 2) from None
    if tls is not None:
        try:
            tls.check()
        except ValueError as exc:
            raise StartFailure(str(exc)) from None
    if options.get("redis_url"):
        try:
            check_redis(options["redis_url"])
        except ConnectionError as exc:
            raise StartFailure(str(exc)) from None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        taken = exc.errno == errno.EADDRINUSE
        why = "the port is taken by another program" if taken else exc.strerror or exc
        message = f"cannot listen on {host}:{port}: {why}"
        raise StartFailure(message, port_taken=taken) from None
    base_url = display_url(host, int(sock.getsockname()[1]), tls=tls is not None)
    url = database_url(db)
    file = Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None
    new_file = file is not None and not file.exists()
    try:
        emulator = open_emulator(url, base_url=base_url, **options)
    except Exception as exc:  # any driver or URL error: one line, no traceback
        sock.close()
        raise StartFailure(f"cannot open the database {db}: {exc}") from None
    try:
        seeded = None if document is None else seed_once(emulator, document, str(seed_file))
        creds = emulator.load_demo(generate_data=True) if demo else None
    except (SeedError, ValueError) as exc:
        sock.close()
        emulator.close()
        if new_file and file is not None:
            file.unlink(missing_ok=True)
        raise StartFailure(_not_loaded(exc), 2) from None
    return Started(emulator, sock, base_url, url, creds, seeded, tls)


def _not_loaded(exc: ValueError) -> str:
    """Why a seed was not loaded: one line, or one line per problem when there are several."""
    problems = getattr(exc, "problems", ())
    if len(problems) > 1:
        return f"seed not loaded: {len(problems)} problems\n" + "\n".join(
            f"  {p}" for p in problems
        )
    return f"seed not loaded: {exc}"


def database_url(db: str) -> str:
    """An SQLAlchemy URL from ``--db``: a URL as given, or a SQLite file path made absolute."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def open_emulator(
    db_url: str,
    *,
    base_url: str,
    admin_token: str | None = None,
    redis_url: str | None = None,
    redis_namespace: str | None = None,
    skew_seconds: float | None = None,
    public_url: str | None = None,
    trust_forwarded_for: bool = False,
    skew_reference: SkewReference = "wall",
) -> Emulator:
    """An :class:`Emulator` for a served deployment.

    Without ``admin_token`` the token is the one saved in the database by an earlier start, or a
    new random one that is then saved: a restart on the same database keeps the same token, so
    the lines the user pasted into a shell keep working (the database already holds the demo's
    secret keys in plaintext; it is test data, not a vault). ``reset`` keeps it too.

    Discovery answers ``public_url`` as the region's API URL (default ``base_url``, the server's
    own address), never what a request's Host or X-Forwarded-Proto header claims.
    ``trust_forwarded_for`` takes a caller's address from X-Forwarded-For (permitted IP ranges).
    ``skew_reference`` is the clock x-mc-date is measured against (``EmulatorConfig``).
    ``redis_namespace`` prefixes this deployment's Redis keys (default: from the database URL).
    """
    from mcapi.emulator._config import EmulatorConfig
    from mcapi.emulator._emulator import Emulator
    from mcapi.emulator._operations import ADMIN_TOKEN_SETTING

    config = EmulatorConfig(
        public_base_url=(public_url or base_url).rstrip("/"),
        trust_forwarded_for=trust_forwarded_for,
        skew_reference=skew_reference,
        redis_namespace=redis_namespace or None,
    )
    if skew_seconds is not None:
        if skew_seconds < 0:
            raise ValueError(f"the skew window cannot be negative, got {skew_seconds:g} s")
        config = replace(
            config,
            skew_seconds=skew_seconds,
            replay_seconds=max(config.replay_seconds, 2 * skew_seconds),
        )
    emulator = Emulator(
        db_url,
        admin_token=admin_token,
        redis_url=redis_url,
        config=config,
        base_url=base_url,
    )
    if not admin_token:
        saved = emulator.store.get_setting(ADMIN_TOKEN_SETTING)
        if isinstance(saved, str) and saved:
            emulator.state.config = replace(emulator.state.config, admin_token=saved)
        else:
            emulator.store.set_setting(ADMIN_TOKEN_SETTING, emulator.admin_token)
    return emulator


def check_redis(url: str, timeout: float = 5.0) -> None:
    """Raise ``ConnectionError`` naming ``url`` unless a Redis server answers PING there (the
    limiter connects lazily: without this, a wrong URL would surface as 500s on the first call)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise ConnectionError(f"cannot reach Redis at {url}: {exc}") from None


def seed_once(emulator: Emulator, document: Mapping[str, Any], label: str) -> str:
    """Load a seed document unless every account it names already exists (a restart on the same
    database); returns what happened, for the console. Raises ``SeedError`` (nothing loaded)."""
    accounts = document.get("accounts")
    entries = accounts if isinstance(accounts, list) else []
    codes = [str(a.get("code")) for a in entries if isinstance(a, dict)]
    if codes and all(emulator.store.find_account(code) for code in codes):
        return f"seed {label}: accounts {', '.join(codes)} already in the database, skipped"
    summary = emulator.admin.seed(document)
    lines = [f"seed {label}: loaded {describe_counts(summary.counts())}"]
    lines += [f"  generated password for {e}: {p}" for e, p in summary.generated_passwords.items()]
    lines += [
        f"  generated client secret for {c}: {s}"
        for c, s in summary.generated_client_secrets.items()
    ]
    lines += [
        f"  generated data for {c}: {describe_counts(n)}" for c, n in summary.generated.items()
    ]
    return "\n".join(lines)


def describe_counts(counts: Mapping[str, int]) -> str:
    """``1 accounts, 2 users, 1425 messages``: counts in words (underscores become spaces)."""
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())


def attach_fault_filter() -> None:
    """Attach :class:`TransportFaultLogFilter` to ``uvicorn.error`` (once per process)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, TransportFaultLogFilter) for f in logger.filters):
        logger.addFilter(TransportFaultLogFilter())


def bind_socket(host: str = DEFAULT_HOST, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv4 or IPv6 by the host's form)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening at once: a client that connects before uvicorn's loop runs waits in the
        # backlog instead of being refused (the CLI prints the URL before serving).
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def display_url(host: str, port: int, *, tls: bool = False) -> str:
    """The URL a local client uses: a wildcard address is shown as the loopback one."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


def build_server(
    app: Any,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    own_logging: bool = True,
    timeout_graceful_shutdown: int | None = 5,
    limits: ServeLimits | None = None,
    tls: TlsFiles | None = None,
) -> uvicorn.Server:
    """A ``uvicorn.Server`` for ``app`` with the emulator's settings (host and port come from the
    socket later given to ``Server.run``).

    ``own_logging`` installs uvicorn's usual console logging (the foreground server); without it
    uvicorn's records propagate to whatever the process configured (a test run's capture).
    ``limits`` bound slow and greedy clients (:class:`ServeLimits`; its defaults when ``None``);
    with ``tls`` the server speaks HTTPS only.
    """
    import uvicorn

    from mcapi.emulator._http import guarded_protocol

    if log_level not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    limits = limits or ServeLimits()
    options: dict[str, Any] = {} if own_logging else {"log_config": None}
    if limits.max_connections is not None:
        # uvicorn answers 503 once the open connections (this one included) reach the limit
        options["limit_concurrency"] = limits.max_connections + 1
    if tls is not None:
        options["ssl_certfile"], options["ssl_keyfile"] = str(tls.cert), str(tls.key)
    config = uvicorn.Config(
        app,
        http=guarded_protocol(
            max_head_bytes=limits.max_head_bytes, request_timeout=limits.request_timeout
        ),
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        server_header=False,
        # uvicorn would rewrite the client address from X-Forwarded-For of loopback peers; the
        # emulator decides that itself (EmulatorConfig.trust_forwarded_for, --trust-forwarded-for)
        proxy_headers=False,
        timeout_graceful_shutdown=timeout_graceful_shutdown,
        **options,
    )
    attach_fault_filter()
    return uvicorn.Server(config)


def run(
    emulator: Emulator,
    sock: socket.socket,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    limits: ServeLimits | None = None,
    tls: TlsFiles | None = None,
) -> None:
    """Serve ``emulator`` on the bound ``sock`` until Ctrl-C or SIGTERM, then return.

    uvicorn re-raises the signal it caught once it has shut down; a SIGINT therefore surfaces
    here as ``KeyboardInterrupt``, which is swallowed: stopping is the normal end.
    """
    server = build_server(
        emulator.app, log_level=log_level, access_log=access_log, limits=limits, tls=tls
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def workers_refusal(db_url: str, redis_url: str | None) -> str | None:
    """Why several worker processes cannot serve the deployment of ``db_url`` and ``redis_url``
    as one emulator, or None when they can (PostgreSQL or another server database, and Redis)."""
    import sqlalchemy as sa

    if sa.make_url(db_url).get_backend_name() == "sqlite":
        return (
            "--workers needs a database that several processes can write at once, such as "
            "PostgreSQL: SQLite lets one writer at a time hold the whole file, and a worker "
            "that waits too long for it fails with 'database is locked' (an in-memory database "
            "is not shared at all); serve one process on SQLite"
        )
    if not redis_url:
        return (
            "--workers needs --redis: the rate limits, replay ids, clock, fault rules and journal "
            "are kept there so that the processes behave as one emulator"
        )
    return None


def run_workers(
    started: Started,
    workers: int,
    options: Mapping[str, Any],
    *,
    log_level: str = "warning",
    access_log: bool = False,
    limits: ServeLimits | None = None,
) -> int:
    """Serve ``started.sock`` with ``workers`` forked processes until Ctrl-C or SIGTERM; returns
    the exit code (0, or 1 when a worker failed).

    The parent closes its emulator before forking (no connection is shared across a fork); each
    worker opens its own with ``options`` (:func:`open_emulator`; the admin token is the one the
    database holds) and runs uvicorn on the inherited socket, which the kernel balances. SIGINT
    and SIGTERM are passed on to the workers; when one worker fails, the others are stopped."""
    import os
    import signal

    started.emulator.close()
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the worker process
            code = 0
            try:
                emulator = open_emulator(started.db_url, base_url=started.base_url, **options)
                run(emulator, started.sock, log_level=log_level, access_log=access_log,
                    limits=limits, tls=started.tls)  # fmt: skip
                emulator.close()
            except BaseException:
                logging.getLogger("uvicorn.error").exception("emulator worker failed")
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    failed = False
    try:
        remaining = set(children)
        while remaining:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            remaining.discard(pid)
            if os.waitstatus_to_exitcode(status) != 0 and not stopping:
                failed = True
                stop(signal.SIGTERM, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        started.sock.close()
    return 1 if failed else 0


@contextlib.contextmanager
def serve_in_thread(
    emulator: Emulator,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    log_level: str = "warning",
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 10.0,
    limits: ServeLimits | None = None,
    tls: TlsFiles | None = None,
) -> Iterator[str]:
    """Serve ``emulator`` from a background thread; yields its base URL (``http://host:port``).

    The server is listening when the URL is yielded. On exit it is asked to stop and joined for
    at most ``shutdown_timeout`` seconds (open keep-alive connections are closed, not awaited).
    Raises :class:`ServerStartError` if it is not up within ``startup_timeout`` seconds.
    """
    sock = bind_socket(host, port)
    bound_port = int(sock.getsockname()[1])
    server = build_server(
        emulator.app, log_level=log_level, own_logging=False, timeout_graceful_shutdown=1,
        limits=limits, tls=tls,
    )  # fmt: skip
    failure: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # a thread must not die silently: report it to the caller
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"mcapi-emulator-{bound_port}", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, failure, startup_timeout)
        yield display_url(host, bound_port, tls=tls is not None)
    finally:
        server.should_exit = True
        thread.join(shutdown_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(1.0)
        sock.close()


def _wait_started(
    server: uvicorn.Server,
    thread: threading.Thread,
    failure: list[BaseException],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if failure or not thread.is_alive():
            cause = failure[0] if failure else None
            raise ServerStartError(f"the emulator server stopped while starting: {cause!r}")
        if time.monotonic() >= deadline:
            server.should_exit = True
            raise ServerStartError(f"the emulator server did not start within {timeout:g} s")
        time.sleep(0.005)
