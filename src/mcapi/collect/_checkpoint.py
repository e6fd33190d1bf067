"""Checkpoint stores: where each stream's position is kept, and who may move it.

Theory of operation
-------------------
A checkpoint is a small JSON object per stream (the SIEM token, or a time window's edge and the
ids seen near it, plus the sink's position). The collector saves one only after the sink has
durably accepted every record before it, so a saved checkpoint never points past a record that
could still be lost.

:class:`FileCheckpoints` keeps ``<dir>/<stream>.json``. Saving writes a temporary file in the
same directory, flushes and fsyncs it, renames it over the old one (atomic on POSIX), then fsyncs
the directory so that the rename itself survives a power cut. A reader therefore sees either the
old checkpoint or the new one, never half of one. A stream is owned by one process at a time
through an ``flock`` on ``<dir>/<stream>.lock``, which the kernel releases when the process dies.

:class:`PostgresCheckpoints` is for several collector processes sharing work: one row per stream
holds the checkpoint and a lease (owner, expiry, read from the database's own clock). A process
takes a stream when its lease is free or expired, renews it with every save, and a save whose
lease was lost (expired and taken over) fails with :class:`LeaseLost` instead of moving the
checkpoint: the process that lost the stream stops writing it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson

__all__ = [
    "CheckpointStore",
    "FileCheckpoints",
    "LeaseLost",
    "PostgresCheckpoints",
    "StreamBusy",
]

Checkpoint = dict[str, Any]


class StreamBusy(RuntimeError):
    """Another process owns the stream."""


class LeaseLost(RuntimeError):
    """This process's lease on a stream expired and another process took it over."""


class CheckpointStore(Protocol):
    """Where checkpoints live; see the module doc."""

    def acquire(self, stream: str) -> bool:
        """Take ownership of ``stream``; False when another process holds it."""
        ...

    def release(self, stream: str) -> None: ...

    def load(self, stream: str) -> Checkpoint | None: ...

    def save(self, stream: str, checkpoint: Mapping[str, Any]) -> None:
        """Durably replace the stream's checkpoint (raises :class:`LeaseLost`)."""
        ...

    def all(self) -> dict[str, Checkpoint]:
        """Every stream's checkpoint (for ``mcapi collect status``)."""
        ...

    def close(self) -> None: ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(target: Path, content: bytes) -> None:
    """Write ``content`` to ``target`` so that a crash leaves the old file or the new one."""
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    _fsync_dir(target.parent)


class FileCheckpoints:
    """Checkpoints as files in a directory (the default store)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, int] = {}

    def _path(self, stream: str) -> Path:
        return self.directory / f"{stream}.json"

    def acquire(self, stream: str) -> bool:
        if stream in self._locks:
            return True
        fd = os.open(self.directory / f"{stream}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._locks[stream] = fd
        return True

    def release(self, stream: str) -> None:
        fd = self._locks.pop(stream, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def load(self, stream: str) -> Checkpoint | None:
        try:
            loaded = orjson.loads(self._path(stream).read_bytes())
        except FileNotFoundError:
            return None
        return loaded if isinstance(loaded, dict) else None

    def save(self, stream: str, checkpoint: Mapping[str, Any]) -> None:
        write_atomic(self._path(stream), orjson.dumps(dict(checkpoint)))

    def all(self) -> dict[str, Checkpoint]:
        out: dict[str, Checkpoint] = {}
        for path in sorted(self.directory.glob("*.json")):
            loaded = self.load(path.stem)
            if loaded is not None:
                out[path.stem] = loaded
        return out

    def close(self) -> None:
        for stream in list(self._locks):
            self.release(stream)


class PostgresCheckpoints:
    """Checkpoints in a PostgreSQL table with a lease per stream (see the module doc).

    ``url`` is an SQLAlchemy URL (``postgresql+psycopg://...``); ``lease_seconds`` is how long
    an owner that stopped saving keeps the stream before another process may take it over.
    """

    def __init__(
        self,
        url: str,
        *,
        lease_seconds: float = 60.0,
        owner: str | None = None,
        table: str = "mcapi_collect_checkpoints",
    ) -> None:
        import sqlalchemy as sa

        self._sa = sa
        self.lease_seconds = lease_seconds
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._engine = sa.create_engine(url, pool_pre_ping=True)
        metadata = sa.MetaData()
        self._table = sa.Table(
            table,
            metadata,
            sa.Column("stream", sa.Text, primary_key=True),
            sa.Column("checkpoint", sa.Text, nullable=True),
            sa.Column("owner", sa.Text, nullable=True),
            sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        )
        with contextlib.suppress(sa.exc.IntegrityError, sa.exc.ProgrammingError):
            metadata.create_all(self._engine)  # two processes may race to create it

    def _lease_until(self) -> Any:
        sa = self._sa
        return sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, self.lease_seconds)

    def acquire(self, stream: str) -> bool:
        sa = self._sa
        t = self._table
        from sqlalchemy.dialects.postgresql import insert

        with self._engine.begin() as conn:
            conn.execute(insert(t).values(stream=stream).on_conflict_do_nothing())
            taken = conn.execute(
                sa.update(t)
                .where(
                    t.c.stream == stream,
                    sa.or_(
                        t.c.owner.is_(None),
                        t.c.owner == self.owner,
                        t.c.lease_until < sa.func.now(),
                    ),
                )
                .values(owner=self.owner, lease_until=self._lease_until())
            ).rowcount
        return bool(taken)

    def release(self, stream: str) -> None:
        sa = self._sa
        t = self._table
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.stream == stream, t.c.owner == self.owner)
                .values(owner=None, lease_until=None)
            )

    def load(self, stream: str) -> Checkpoint | None:
        sa = self._sa
        t = self._table
        with self._engine.connect() as conn:
            text = conn.execute(sa.select(t.c.checkpoint).where(t.c.stream == stream)).scalar()
        if not text:
            return None
        loaded = orjson.loads(text)
        return loaded if isinstance(loaded, dict) else None

    def save(self, stream: str, checkpoint: Mapping[str, Any]) -> None:
        sa = self._sa
        t = self._table
        with self._engine.begin() as conn:
            moved = conn.execute(
                sa.update(t)
                .where(
                    t.c.stream == stream,
                    t.c.owner == self.owner,
                    t.c.lease_until >= sa.func.now(),
                )
                .values(
                    checkpoint=orjson.dumps(dict(checkpoint)).decode(),
                    lease_until=self._lease_until(),
                )
            ).rowcount
        if not moved:
            raise LeaseLost(f"the lease on stream {stream!r} expired and was taken over")

    def owner_of(self, stream: str) -> str | None:
        """The current owner of a stream whose lease has not expired."""
        sa = self._sa
        t = self._table
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.c.owner).where(t.c.stream == stream, t.c.lease_until >= sa.func.now())
            ).first()
        return None if row is None else str(row.owner)

    def all(self) -> dict[str, Checkpoint]:
        sa = self._sa
        t = self._table
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.stream, t.c.checkpoint).order_by(t.c.stream)).all()
        out: dict[str, Checkpoint] = {}
        for row in rows:
            if row.checkpoint:
                loaded = orjson.loads(row.checkpoint)
                if isinstance(loaded, dict):
                    out[row.stream] = loaded
        return out

    def close(self) -> None:
        self._engine.dispose()
