from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

# No wall-clock limits on property tests: Hypothesis' per-example deadline and its "too slow"
# health check fail a correct test on a loaded machine (or under a mutation run's coverage).
settings.register_profile("mcapi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mcapi")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def postgres_schema(prefix: str, missing: str) -> Iterator[str]:
    """A URL of ``MCAPI_TEST_POSTGRES_URL`` whose connections use a schema of their own
    (``<prefix>_<random>``), dropped afterwards; skips, saying ``missing``, when it is not set."""
    base = os.environ.get("MCAPI_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(f"MCAPI_TEST_POSTGRES_URL is not set: {missing}")
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["sqlite-file", "postgres"])
def shared_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database several emulator instances can share, as the workers of one deployment would:
    a SQLite file, and PostgreSQL (in a schema of its own) when ``MCAPI_TEST_POSTGRES_URL`` is
    set."""
    if request.param == "sqlite-file":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    with postgres_schema("shared", "the PostgreSQL variant did not run") as url:
        yield url
