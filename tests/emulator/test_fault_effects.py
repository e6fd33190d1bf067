"""Fault rules through real HTTP: latency with codes, catalogue codes only, login faults,
transport faults and status answers after the function ran, answers without the envelope, and
dribbled bodies."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._fault_transport import TransportFault
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


# ---- answers without the envelope, dribbled bodies, status answers after the function ran -------


@pytest.mark.parametrize(
    ("effect", "media_type", "needle"),
    [
        ({"status": 502}, "text/html", b"<title>502 Bad Gateway</title>"),
        ({"status": 503, "body": "html"}, "text/html", b"503 Service Unavailable"),
        ({"status": 504, "body": "malformed"}, "application/json", b'{"meta": {"status": 504}'),
        ({"status": 500, "body": "malformed"}, "application/json", b'{"meta": {"status": 500}'),
    ],
)
async def test_a_status_answer_without_the_envelope(
    api: Api, effect: dict[str, object], media_type: str, needle: bytes
) -> None:
    await api.admin("POST", "/faults", {"match": {"path": ACCOUNT, "times": 1}, "effect": effect})
    response = await api.call(ACCOUNT)
    assert response.status_code == effect["status"]
    assert response.headers["content-type"].startswith(media_type)
    assert needle in response.content
    assert response.headers["content-length"] == str(len(response.content))
    assert "x-ratelimit-limit" in response.headers
    if media_type == "application/json":
        with pytest.raises(ValueError):
            json.loads(response.content)
    (entry,) = api.emu.journal.entries(path=ACCOUNT)
    assert (entry.status, entry.check, entry.fault) == (effect["status"], "fault", "f1")
    assert (await api.call(ACCOUNT)).status_code == 200  # times: 1


class Recorder:
    """The emulator's ASGI app, keeping every message it sends, in order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def keep(message: dict[str, Any]) -> None:
            self.sent.append(dict(message))
            await send(message)

        await self.app(scope, receive, keep)

    def bodies(self) -> list[tuple[bytes, bool]]:
        return [(m["body"], m["more_body"]) for m in self.sent if m["type"] == "http.response.body"]


async def test_a_dribbled_body_arrives_whole_in_small_chunks_in_order(
    emu: Emulator, creds: EmulatorCredentials
) -> None:
    recorder = Recorder(emu.app)
    transport = httpx.ASGITransport(app=recorder, client=("198.51.100.7", 50000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        api = Api(http, emu, creds)
        plain = await api.call(ACCOUNT)
        rule = {"match": {"path": ACCOUNT}, "effect": {"dribble_bps": 2000}}
        await api.admin("POST", "/faults", rule)
        recorder.sent.clear()
        slow = await api.call(ACCOUNT)
    assert slow.status_code == 200
    assert slow.json()["data"] == plain.json()["data"]
    chunks = recorder.bodies()
    assert len(chunks) == -(-len(slow.content) // 200)  # a tenth of a second's worth each
    assert all(len(body) == 200 for body, _ in chunks[:-1])
    assert b"".join(body for body, _ in chunks) == slow.content
    assert [more for _, more in chunks] == [True] * (len(chunks) - 1) + [False]


async def test_a_gateway_page_can_be_dribbled(emu: Emulator, creds: EmulatorCredentials) -> None:
    recorder = Recorder(emu.app)
    transport = httpx.ASGITransport(app=recorder)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        api = Api(http, emu, creds)
        rule = {"match": {"path": ACCOUNT}, "effect": {"status": 504, "dribble_bps": 500}}
        await api.admin("POST", "/faults", rule)
        recorder.sent.clear()
        response = await api.call(ACCOUNT)
    assert response.status_code == 504 and b"Gateway Timeout" in response.content
    chunks = recorder.bodies()
    assert len(chunks) > 1 and all(len(body) <= 50 for body, _ in chunks)


async def test_a_status_after_execution_answers_the_error_once_the_write_is_made(api: Api) -> None:
    keys = await api.binding_for("admin@demo.example")
    rule = {"match": {"path": LOGOUT, "times": 1},
            "effect": {"status": 500, "sub_code": "0006", "after_execution": True}}  # fmt: skip
    await api.admin("POST", "/faults", rule)
    response = await api.call(LOGOUT, [{"accessKey": keys.access_key}])
    assert code_of(response) == "500 0006 err_xdk_external_resource"
    assert api.emu.store.get_binding(keys.access_key) is None  # the write happened
    (entry,) = api.emu.journal.entries(path=LOGOUT)
    assert (entry.status, entry.check, entry.fault) == (500, "fault", "f1")
    assert entry.reason.endswith("after the function ran")


async def test_a_gateway_timeout_after_execution(api: Api) -> None:
    keys = await api.binding_for("admin@demo.example")
    rule = {"match": {"path": LOGOUT}, "effect": {"status": 504, "after_execution": True}}
    await api.admin("POST", "/faults", rule)
    response = await api.call(LOGOUT, [{"accessKey": keys.access_key}])
    assert response.status_code == 504 and response.headers["content-type"].startswith("text/html")
    assert api.emu.store.get_binding(keys.access_key) is None
    assert "after the function ran" in api.emu.journal.entries(path=LOGOUT)[-1].reason


async def test_a_status_before_execution_leaves_state_alone(api: Api) -> None:
    keys = await api.binding_for("admin@demo.example")
    await api.admin("POST", "/faults", {"match": {"path": LOGOUT}, "effect": {"status": 502}})
    response = await api.call(LOGOUT, [{"accessKey": keys.access_key}])
    assert response.status_code == 502
    assert api.emu.store.get_binding(keys.access_key) is not None
