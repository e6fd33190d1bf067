"""50 concurrent wrong-password logins lock the account at exactly the threshold.

Two emulator instances share one database (a SQLite file, and PostgreSQL when
``MCAPI_TEST_POSTGRES_URL`` is set), as several workers of one deployment would; each drives half
the attempts from its own thread and event loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter

import httpx
import pytest

from mcapi._signing import build_login_header, format_date, new_request_id
from mcapi.emulator import Emulator

ATTEMPTS = 50
THRESHOLD = 5


def _postgres_url() -> str | None:
    return os.environ.get("MCAPI_TEST_POSTGRES_URL")


@pytest.fixture
def db_url(shared_db_url: str) -> str:
    return shared_db_url


async def _attempts(emu: Emulator, app_id: str, count: int, address: str) -> list[str]:
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:

        async def one() -> str:
            response = await http.post(
                "/api/login/login",
                json={"data": [{"userName": address}]},
                headers={
                    "Authorization": build_login_header("cloud", address, "wrong"),
                    "x-mc-app-id": app_id,
                    "x-mc-date": format_date(emu.clock.now()),
                    "x-mc-req-id": new_request_id(),
                },
            )
            return str(response.json()["fail"][0]["errors"][0]["message"])

        return list(await asyncio.gather(*(one() for _ in range(count))))


@pytest.mark.parametrize("address", ["admin@demo.example", "nobody@demo.example"])
def test_fifty_concurrent_wrong_passwords_lock_at_exactly_the_threshold(
    db_url: str, address: str
) -> None:
    """The same for a user and for an address that is not one: the answers never tell them
    apart, whichever process answers."""
    first = Emulator(db_url, kdf_n=2**10)
    creds = first.load_demo()
    second = Emulator(db_url, kdf_n=2**10)
    results: list[list[str]] = [[], []]

    def drive(index: int, emu: Emulator) -> None:
        results[index] = asyncio.run(_attempts(emu, creds.app_id, ATTEMPTS // 2, address))

    threads = [threading.Thread(target=drive, args=(i, e)) for i, e in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    answers = Counter(results[0] + results[1])
    assert answers == {"0003 Invalid Credentials": THRESHOLD, "0010 Account Locked": ATTEMPTS - 5}
    user = first.store.find_user(address)
    if user is not None:
        assert user.locked(first.clock.now())
    else:
        assert second.store.address_locked(address, second.clock.now())
    first.close()
    second.close()
