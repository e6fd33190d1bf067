"""Which optional parts of mcapi this installation has.

The base install is the client, the catalogue and the CLI's client commands; the emulator's server
stack comes with the ``emulator`` extra. The names here are the one place that says so, for the
CLI's message and for ``import mcapi.emulator``.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["EMULATOR_EXTRA_HINT", "EMULATOR_MODULES", "missing_emulator_modules"]

#: Top-level modules every emulator needs, whatever its database (psycopg and redis are imported
#: only for a PostgreSQL URL or ``--redis``).
EMULATOR_MODULES: tuple[str, ...] = ("starlette", "uvicorn", "sqlalchemy", "alembic")

EMULATOR_EXTRA_HINT = "install the emulator extra: pip install 'mcapi[emulator]'"


def missing_emulator_modules() -> list[str]:
    """The modules of :data:`EMULATOR_MODULES` this environment cannot import."""
    return [name for name in EMULATOR_MODULES if find_spec(name) is None]
