"""Failed-login counters of addresses that are not users.

An unknown address must lock after the same number of failures as a user, or the answers would
tell the two apart; the counter lives in the database so that every emulator process sharing it
agrees. The rule is the users' (``_users.failure_counted``): the failure that reaches
the threshold locks for ``lock_seconds``; a failure after a lapsed lock starts the count afresh.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa

from mcapi.emulator._store._engine import StoreBase
from mcapi.emulator._store._errors import StoreError
from mcapi.emulator._store._schema import login_failures
from mcapi.emulator._store._users import failure_counted


class AddressOps(StoreBase):
    def address_locked(self, address: str, now: float) -> bool:
        """Whether failed logins locked ``address`` (an address that is not a user)."""
        stmt = sa.select(login_failures.c.locked_until).where(
            login_failures.c.address == address.strip().lower()
        )
        with self.connect() as conn:
            until = conn.execute(stmt).scalar()
        return until is not None and now < until

    def record_address_failure(
        self, address: str, *, now: float, threshold: int, lock_seconds: float
    ) -> tuple[int, float | None]:
        """Count one failed login of ``address`` atomically; returns (failed, locked_until)."""
        key = address.strip().lower()
        values = failure_counted(
            login_failures, now=now, threshold=threshold, lock_seconds=lock_seconds
        )
        count = (
            login_failures.update()
            .where(login_failures.c.address == key)
            .values(values)
            .returning(login_failures.c.failed_attempts, login_failures.c.locked_until)
        )
        for _ in range(3):
            with self.connect() as conn:
                row = conn.execute(count).first()
                if row is not None:
                    locked = row.locked_until
                    return int(row.failed_attempts), None if locked is None else float(locked)
                # The first failure of this address: a row at 0, then count as above (a call that
                # inserted it first makes this insert fail, and the count finds that row).
                with contextlib.suppress(sa.exc.IntegrityError):
                    conn.execute(login_failures.insert().values(address=key, failed_attempts=0))
        raise StoreError(f"could not count a failed login of {key}")
