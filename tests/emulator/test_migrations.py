"""The emulator's schema is managed by migrations, applied once under a lock.

- Several processes starting at once on a fresh database all start (on PostgreSQL they used to
  race to ``CREATE TABLE`` and some died of ``UniqueViolation``).
- A database made before migrations existed (tables, no ``alembic_version``) is adopted and keeps
  its rows; one whose tables differ is refused, untouched.
- The newest revision creates exactly the tables of the metadata: a schema change without a
  migration fails this module.

Each test runs on a SQLite file and on PostgreSQL (a schema of its own, dropped afterwards) when
``MCAPI_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError

from mcapi.emulator import Emulator
from mcapi.emulator._store._migrate import (
    BASELINE,
    SchemaMismatch,
    _config,
    current_revision,
    head,
    target_metadata,
    upgrade,
)
from tests.conftest import postgres_schema

STARTERS = 6


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite-file":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with postgres_schema("migrate", "the PostgreSQL variant did not run") as url:
        yield url


def _pre_migration_database(url: str) -> None:
    """What an mcapi without migrations left behind: the first revision's tables, no history."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), BASELINE)
            conn.execute(sa.text("DROP TABLE alembic_version"))
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ---- several processes at once ------------------------------------------------------------------

_STARTER = textwrap.dedent(
    """
    import sys
    from mcapi.emulator import Emulator

    print("ready", flush=True)  # imported; now wait for the others
    sys.stdin.readline()
    emulator = Emulator(sys.argv[1], kdf_n=2**10)
    emulator.load_demo()
    emulator.close()
    print("started", flush=True)
    """
)


def test_processes_starting_at_once_on_a_fresh_database_all_start(fresh_url: str) -> None:
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTER, fresh_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTERS)
    ]
    try:
        for process in starters:  # every process has imported mcapi ...
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n", process.communicate()[1]
        for process in starters:  # ... then all go at once
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outcomes = [process.communicate(timeout=300) for process in starters]
    finally:
        for process in starters:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, (out, err) in zip(starters, outcomes, strict=True):
        assert process.returncode == 0, err[-3000:]
        assert out.strip() == "started"
    engine = sa.create_engine(fresh_url)
    try:
        assert current_revision(engine) == head()
        with engine.connect() as conn:
            # ensure_demo ran in every process and the demo tenant exists once.
            assert conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one() == 1
    finally:
        engine.dispose()


# ---- upgrading and adopting existing databases ---------------------------------------------


def test_a_fresh_database_is_created_at_the_newest_revision(fresh_url: str) -> None:
    emulator = Emulator(fresh_url, kdf_n=2**10)
    try:
        assert current_revision(emulator.store.engine) == head()
        assert set(target_metadata().tables) <= _tables(fresh_url)
    finally:
        emulator.close()


def test_a_database_from_before_migrations_is_adopted_and_keeps_its_rows(fresh_url: str) -> None:
    _pre_migration_database(fresh_url)
    first = Emulator(fresh_url, kdf_n=2**10)
    demo = first.load_demo()
    first.close()
    engine = sa.create_engine(fresh_url)
    with engine.begin() as conn:  # the older mcapi's database: its rows, no history
        conn.execute(sa.text("DROP TABLE alembic_version"))
    engine.dispose()

    emulator = Emulator(fresh_url, kdf_n=2**10)
    try:
        assert current_revision(emulator.store.engine) == head()
        assert emulator.store.find_account(demo.account_code) is not None
        assert emulator.store.auth_context(demo.access_key) is not None  # its binding still works
    finally:
        emulator.close()


def test_an_adopted_database_gains_the_tables_it_lacks(fresh_url: str) -> None:
    _pre_migration_database(fresh_url)
    engine = sa.create_engine(fresh_url)
    with engine.begin() as conn:  # an even older mcapi, before SIEM streams existed
        conn.execute(sa.text("DROP TABLE siem_streams"))
    engine.dispose()
    emulator = Emulator(fresh_url, kdf_n=2**10)
    try:
        assert current_revision(emulator.store.engine) == head()
        assert "siem_streams" in _tables(fresh_url)
    finally:
        emulator.close()


def test_a_database_whose_tables_differ_is_refused_and_left_untouched(fresh_url: str) -> None:
    engine = sa.create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, colour TEXT)"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match=r"accounts \(missing columns: \['account_code'"):
        Emulator(fresh_url, kdf_n=2**10)
    assert _tables(fresh_url) == {"accounts"}


def test_a_second_start_changes_nothing(fresh_url: str) -> None:
    Emulator(fresh_url, kdf_n=2**10).close()
    engine = sa.create_engine(fresh_url)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    assert not [s for s in statements if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP"))]


# ---- the migrations and the metadata agree -------------------------------------------------


def test_the_newest_revision_matches_the_metadata(fresh_url: str) -> None:
    """Changing a table without adding a revision under ``_migrations/versions`` fails here:
    Alembic's autogenerate comparison of the migrated database with the metadata is empty."""
    engine = sa.create_engine(fresh_url)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "head")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, target_metadata()) == []
    finally:
        engine.dispose()


def test_a_database_newer_than_this_mcapi_is_refused(fresh_url: str) -> None:
    Emulator(fresh_url, kdf_n=2**10).close()
    engine = sa.create_engine(fresh_url)
    with engine.begin() as conn:  # as a later mcapi would leave it
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    with pytest.raises(CommandError, match="f00d"):
        Emulator(fresh_url, kdf_n=2**10)
