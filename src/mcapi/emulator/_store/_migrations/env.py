"""Alembic's environment for the emulator's schema: run by :mod:`mcapi.emulator._store._migrate`,
which passes the connection (already in a transaction, under the schema lock)."""

from __future__ import annotations

from alembic import context

from mcapi.emulator._store._migrate import target_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata(),
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying a table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
