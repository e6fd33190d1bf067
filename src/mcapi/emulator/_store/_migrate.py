"""The emulator's schema, managed by migrations (Alembic) and applied once under a lock.

:func:`upgrade` brings a database to the newest revision of ``_migrations/versions``; it is what
:meth:`Store.create_all` runs at start. Several processes starting at once on one database must
not race to create the same tables, so the whole upgrade runs in one transaction under a lock:

- PostgreSQL: ``pg_advisory_xact_lock`` on a key derived from the current schema. The first
  process migrates; the others wait on the lock, then find the database at the newest revision and
  do nothing. The lock is released with the transaction (PostgreSQL's DDL is transactional, so a
  process killed mid-upgrade leaves the database as it was).
- SQLite: ``BEGIN IMMEDIATE`` takes SQLite's own write lock on the file up front; another process
  waits on the busy timeout and then sees the upgraded schema. SQLite's DDL is transactional too.

An empty database gets the newest schema directly: the metadata's ``create_all``, then the newest
revision recorded (Alembic's recipe for a fresh database, an order of magnitude faster than
replaying every revision; the tests check that both give the same tables). A database made by an
mcapi that had no migrations (its tables exist, but no ``alembic_version``) is adopted: every
emulator table it has must have the columns of the first revision (else :class:`SchemaMismatch`
says which differ, and nothing is changed); the first revision then creates only the tables it
lacks and records itself, and later revisions run as on any other database.

Alembic is driven programmatically (a :class:`~alembic.config.Config` built here, with the
connection passed to ``env.py``), never from an ``alembic.ini`` on disk. A schema change is a new
revision under ``versions/``; ``tests/emulator/test_migrations.py`` fails while the newest revision
and the tables of :func:`target_metadata` differ.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

__all__ = ["BASELINE", "SchemaMismatch", "current_revision", "head", "target_metadata", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "_migrations"
#: The first revision: the schema as it was when migrations were introduced.
BASELINE = "0001"
_LOCK_NAMESPACE = "mcapi.emulator.schema:"


class SchemaMismatch(RuntimeError):
    """A database without migration history whose tables are not those the first revision made."""


def target_metadata() -> sa.MetaData:
    """Every table of the emulator: the shared metadata, with the modules that add to it loaded."""
    import mcapi.emulator._data
    import mcapi.emulator.functions  # noqa: F401  (and any table a function module adds)
    from mcapi.emulator._store._schema import metadata

    return metadata


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision shipped with this mcapi."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: no migration history)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:ns || current_schema(), 0))"),
            {"ns": _LOCK_NAMESPACE},
        )
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@functools.cache
def _baseline_columns() -> dict[str, list[str]]:
    """Each table of the first revision and its columns, found by applying that revision to a
    scratch in-memory database (so the check follows the revision itself)."""
    scratch = sa.create_engine("sqlite://")
    try:
        with scratch.begin() as conn:
            command.upgrade(_config(conn), BASELINE)
        inspector = sa.inspect(scratch)
        return {
            name: [c["name"] for c in inspector.get_columns(name)]
            for name in inspector.get_table_names()
            if name != "alembic_version"
        }
    finally:
        scratch.dispose()


def _check_adoptable(conn: Connection, tables: set[str]) -> None:
    expected = _baseline_columns()
    inspector = sa.inspect(conn)
    problems = []
    for name in sorted(tables & set(expected)):
        have = [c["name"] for c in inspector.get_columns(name)]
        if sorted(have) != sorted(expected[name]):
            missing = sorted(set(expected[name]) - set(have))
            extra = sorted(set(have) - set(expected[name]))
            problems.append(f"{name} (missing columns: {missing}, unknown columns: {extra})")
    if problems:
        raise SchemaMismatch(
            "the database has emulator tables but no migration history, and they differ from "
            "the schema this mcapi can adopt: " + "; ".join(problems)
        )


def upgrade(engine: Engine) -> None:
    """Bring the database to :func:`head`, once, under the lock described in the module docstring;
    adopt a database made before migrations existed."""
    with engine.begin() as conn:
        _lock(conn)
        context = MigrationContext.configure(conn)
        current = context.get_current_revision()
        if current == head():
            return
        if current is None:
            tables = set(sa.inspect(conn).get_table_names())
            if not tables:
                # An empty database: create the newest schema at once and record it (Alembic's
                # recipe; the test suite checks that the revisions build the same tables).
                target_metadata().create_all(conn)
                context.stamp(_scripts(), "head")
                return
            _check_adoptable(conn, tables)
        command.upgrade(_config(conn), "head")
