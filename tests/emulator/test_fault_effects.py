"""Fault rules through real HTTP: latency with codes, catalogue codes only, login faults, and
transport faults after the function ran."""

from __future__ import annotations

import anyio
import httpx
import pytest

from mcapi.emulator._faults import TransportFault
from tests.emulator.conftest import Api, code_of

pytestmark = pytest.mark.anyio

ACCOUNT = "/api/account/get-account"
LOGOUT = "/api/login/logout"
AUDIT = "/api/audit/get-audit-events"


async def test_latency_accompanies_an_error_code(api: Api) -> None:
    # No clock is read: while the slow answer is held (its rule has fired, no journal entry yet),
    # another call gets through; then the held call answers with the rule's code.
    rule = {"match": {"path": ACCOUNT}, "effect": {"status": 500, "sub_code": "0006",
                                                  "latency_ms": 1000}}  # fmt: skip
    await api.admin("POST", "/faults", rule)
    answers: list[httpx.Response] = []

    async def slow() -> None:
        answers.append(await api.call(ACCOUNT))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(slow)
        while not any(r["applied"] for r in api.emu.faults.state()):
            await anyio.sleep(0)
        other = await api.call(AUDIT)
        assert other.status_code == 200 and not answers
        assert api.emu.journal.entries(path=ACCOUNT) == []
    (response,) = answers
    assert code_of(response) == "500 0006 err_xdk_external_resource"


@pytest.mark.parametrize(
    ("effect", "needle"),
    [
        ({"status": 400, "body_code": "err_weird"}, "400 err_weird is not in the catalogue"),
        ({"status": 401, "sub_code": "0006"}, "401 0006 is not in the catalogue"),
        ({"after_execution": True, "latency_ms": 5}, "after_execution"),
        ({"status": 505}, "505 is not in the catalogue"),
    ],
)
async def test_fault_rules_must_use_catalogue_codes(
    api: Api, effect: dict[str, object], needle: str
) -> None:
    response = await api.http.post(
        "/_emulator/faults", json={"match": {"path": ACCOUNT}, "effect": effect},
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert needle in response.json()["error"]


async def test_login_can_be_faulted(api: Api) -> None:
    rule = {"match": {"path": "/api/login/*", "times": 1},
            "effect": {"status": 500, "sub_code": "0006"}}  # fmt: skip
    await api.admin("POST", "/faults", rule)
    first = await api.login("admin@demo.example", str(api.creds.admin_password))
    second = await api.login("admin@demo.example", str(api.creds.admin_password))
    assert code_of(first) == "500 0006 err_xdk_external_resource"
    assert second.status_code == 200


async def test_transport_fault_before_execution_leaves_state_alone(api: Api) -> None:
    keys = await api.binding_for("admin@demo.example")
    rule = {"match": {"path": LOGOUT, "times": 1}, "effect": {"transport": "reset"}}
    await api.admin("POST", "/faults", rule)
    with pytest.raises(TransportFault):
        await api.call(LOGOUT, [{"accessKey": keys.access_key}])
    assert api.emu.store.get_binding(keys.access_key) is not None


async def test_transport_fault_after_execution_loses_only_the_answer(api: Api) -> None:
    keys = await api.binding_for("admin@demo.example")
    rule = {"match": {"path": LOGOUT, "times": 1},
            "effect": {"transport": "reset", "after_execution": True}}  # fmt: skip
    await api.admin("POST", "/faults", rule)
    with pytest.raises(TransportFault):
        await api.call(LOGOUT, [{"accessKey": keys.access_key}])
    assert api.emu.store.get_binding(keys.access_key) is None  # the write happened
    entry = api.emu.journal.entries(path=LOGOUT)[-1]
    assert entry.check == "fault"


async def test_empty_reply_is_journaled(api: Api) -> None:
    await api.admin(
        "POST", "/faults", {"match": {"path": ACCOUNT}, "effect": {"transport": "empty"}}
    )
    response = await api.call(ACCOUNT)
    assert response.status_code == 200
    assert response.content == b""
    assert api.emu.journal.entries(path=ACCOUNT)[-1].reason == "transport fault empty"


async def test_reads_do_not_wait_for_a_slow_write() -> None:
    """Writes run in a worker thread: a read is answered while a slow write (users created with
    real password hashing) is still busy."""
    import anyio

    from mcapi.emulator import Emulator
    from tests.emulator.conftest import Api as Caller

    emu = Emulator("sqlite://", kdf_n=2**15)  # about 0.1 s per password hash
    creds = emu.load_demo()
    transport = httpx.ASGITransport(app=emu.app)
    finished: list[str] = []
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        api = Caller(http, emu, creds)
        users = [
            {"emailAddress": f"new{i}@demo.example", "password": "Pa55-word!"} for i in range(5)
        ]

        async def write() -> None:
            await api.call("/api/user/create-user", users)
            finished.append("write")

        async def read() -> None:
            await anyio.sleep(0.05)
            assert (await api.call(ACCOUNT)).status_code == 200
            finished.append("read")

        async with anyio.create_task_group() as group:
            group.start_soon(write)
            group.start_soon(read)
    emu.close()
    assert finished == ["read", "write"]
