"""The journal keeps each exchange (headers and bodies) bounded and with every secret removed."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import httpx
import pytest
import redis

from mcapi.emulator._journal import Journal, JournalEntry, RedisJournal
from mcapi.emulator._redaction import (
    HEADERS_LEFT_OUT,
    MAX_BODY_CHARS,
    MAX_HEADER_CHARS,
    MAX_HEADERS,
    PARSE_LIMIT,
    REDACTED,
    body_text,
)
from tests.emulator.conftest import Api
from tests.emulator.test_api2 import create_app, token_request

pytestmark = pytest.mark.anyio

ACCOUNT = "/api/account/get-account"


async def entry_of(api: Api, response: httpx.Response, path: str) -> dict[str, Any]:
    """The admin API's full view of the newest journal entry for ``path``."""
    newest = api.emu.journal.entries(path=path)[-1]
    assert newest.id
    shown = await api.admin("GET", f"/journal/{newest.id}")
    document: dict[str, Any] = shown.json()
    return document


def text_of(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False)


async def test_a_signed_call_keeps_headers_and_bodies_without_the_signature(api: Api) -> None:
    response = await api.call(ACCOUNT, [{}])
    assert response.status_code == 200
    sent_authorization = response.request.headers["authorization"]
    signature = sent_authorization.split(":", 1)[1]
    shown = await entry_of(api, response, ACCOUNT)
    entry = shown["entry"]
    assert entry["request_headers"]["x-mc-app-id"] == api.creds.app_id
    assert entry["request_headers"]["authorization"] == f"MC {api.creds.access_key[:4]}…:{REDACTED}"
    assert json.loads(entry["request_body"]) == {"data": [{}]}
    assert json.loads(entry["response_body"]) == response.json()
    assert entry["response_headers"]["content-type"].startswith("application/json")
    assert "x-ratelimit-limit" in entry["response_headers"]
    assert shown["code"] is None  # a plain success has no catalogue entry to explain
    text = text_of(shown)
    assert signature not in text
    assert api.creds.secret_key not in text
    assert api.creds.access_key not in text


async def test_a_refused_call_shows_the_catalogue_meaning_and_remedy(api: Api) -> None:
    response = await api.call(ACCOUNT, [{}], headers={"x-mc-date": "Mon, 01 Jan 2001 00:00:00 UTC"})
    assert response.status_code == 401
    shown = await entry_of(api, response, ACCOUNT)
    assert shown["entry"]["check"] == "signature"
    assert shown["code"]["sub_code"] == "0004"
    assert shown["code"]["meaning"] and shown["code"]["remedy"]
    assert json.loads(shown["entry"]["response_body"]) == response.json()


async def test_a_login_keeps_neither_the_password_nor_the_new_secret_key(api: Api) -> None:
    password = api.creds.admin_password
    assert password is not None
    response = await api.login(api.creds.admin_email, password)
    assert response.status_code == 200
    new_secret = response.json()["data"][0]["secretKey"]
    login_header = response.request.headers["authorization"].split(" ", 1)[1]
    shown = await entry_of(api, response, "/api/login/login")
    text = text_of(shown)
    assert password not in text
    assert login_header not in text  # base64 of address:password
    assert new_secret not in text
    assert json.loads(shown["entry"]["response_body"])["data"][0]["secretKey"] == REDACTED
    sent = json.loads(shown["entry"]["request_body"])
    assert sent == {"data": [{"userName": api.creds.admin_email}]}  # a managed address: kept


async def test_a_login_name_that_is_no_managed_address_is_not_kept(api: Api) -> None:
    response = await api.login("Hunter2-typed-here", "whatever")
    assert response.status_code == 404
    shown = await entry_of(api, response, "/api/login/login")
    assert json.loads(shown["entry"]["request_body"]) == {"data": [{"userName": "[not kept]"}]}
    assert "Hunter2" not in text_of(shown)


async def test_a_token_request_keeps_neither_the_client_secret_nor_the_token(api: Api) -> None:
    app = await create_app(api)
    response = await token_request(api, app["client_id"], app["client_secret"])
    assert response.status_code == 200
    shown = await entry_of(api, response, "/oauth/token")
    text = text_of(shown)
    assert app["client_secret"] not in text
    assert response.json()["access_token"] not in text
    assert f"client_id={app['client_id']}" in shown["entry"]["request_body"]
    assert "client_secret=" in shown["entry"]["request_body"]
    bearer = await api.http.post(
        ACCOUNT, json={"data": []},
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
    )  # fmt: skip
    assert bearer.status_code == 200
    assert response.json()["access_token"] not in text_of(await entry_of(api, bearer, ACCOUNT))


async def test_the_listing_leaves_the_exchange_out(api: Api) -> None:
    await api.call(ACCOUNT, [{}])
    light = (await api.admin("GET", "/journal")).json()["entries"][-1]
    assert "request_body" not in light and "response_headers" not in light
    full = (await api.admin("GET", f"/journal/{light['id']}")).json()["entry"]
    assert json.loads(full["request_body"]) == {"data": [{}]}


async def test_an_unknown_entry_is_404(api: Api) -> None:
    response = await api.http.get(
        "/_emulator/journal/999999", headers={"Authorization": f"Bearer {api.creds.admin_token}"}
    )
    assert response.status_code == 404
    assert response.json()["problems"][0]["field"] == "id"


async def test_a_large_body_is_cut_with_a_marker(api: Api) -> None:
    filler = "x" * (MAX_BODY_CHARS * 2)
    response = await api.call(ACCOUNT, [{"note": filler}])
    assert response.status_code in (200, 400)
    body = (await entry_of(api, response, ACCOUNT))["entry"]["request_body"]
    sent = len(response.request.content)
    assert body.startswith('{"data":')
    assert body.endswith(f"…[{sent - MAX_BODY_CHARS} more bytes]")


async def test_headers_are_kept_to_a_bounded_size_with_a_marker(api: Api) -> None:
    large = {f"x-large-{n:02d}": f"{n:02d}" + "v" * 1000 for n in range(40)}
    response = await api.call(ACCOUNT, [{}], headers=large)
    kept = (await entry_of(api, response, ACCOUNT))["entry"]["request_headers"]
    shown = [name for name in kept if name.startswith("x-large-")]
    assert 0 < len(shown) < len(large)
    sent = len(response.request.headers)
    assert kept[HEADERS_LEFT_OUT] == f"[{sent - len(kept) + 1} more headers]"
    assert sum(len(k) + len(v) for k, v in kept.items() if k != HEADERS_LEFT_OUT) <= (
        MAX_HEADER_CHARS
    )
    many = {f"x-small-{n:03d}": "v" for n in range(MAX_HEADERS + 10)}
    response = await api.call(ACCOUNT, [{}], headers=many)
    kept = (await entry_of(api, response, ACCOUNT))["entry"]["request_headers"]
    assert len(kept) == MAX_HEADERS + 1
    assert kept[HEADERS_LEFT_OUT] == f"[{len(response.request.headers) - MAX_HEADERS} more headers]"


def test_a_secret_across_the_cut_is_removed_whole() -> None:
    secret = "S3CRET" * 20
    raw = ("a" * (MAX_BODY_CHARS - 40) + f'"secretKey": "{secret}"' + "b" * 100).encode()
    kept = body_text(raw)
    assert kept is not None
    assert "S3CRET" not in kept
    assert kept.endswith(" more bytes]")
    assert body_text(kept) == kept  # cleaning twice changes nothing
    assert body_text(b"\xff\xfe") == "\ufffd\ufffd"


async def everything_shown(api: Api, path: str) -> str:
    """The newest entry for ``path`` as the admin API and the dashboard's entry page show it."""
    newest = api.emu.journal.entries(path=path)[-1]
    shown = await api.admin("GET", f"/journal/{newest.id}")
    page = await api.http.get(
        f"/_emulator/ui/journal/{newest.id}",
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )
    assert page.status_code == 200
    return f"{json.dumps(newest.to_dict(), ensure_ascii=False)}\n{shown.text}\n{page.text}"


@pytest.mark.parametrize(
    "body",
    [
        '{"data": [{"password": ["PW1234-secret"]}]}',
        '{"data": [{"password": {"v": "PW1234-secret", "w": ["]"]}, "note": "kept"}]}',
        '{"data": [{"pass\\u0077ord": "PW1234-secret"}]}',
        '{"data": [{"secret\\u004bey": ["x", {"y": "PW1234-secret"}]}]}',
        '{"data": [{"password": "PW1234-secret", "password": null}]}',
    ],
)
async def test_a_json_secret_of_any_shape_or_spelling_is_removed(api: Api, body: str) -> None:
    response = await api.call(ACCOUNT, body=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 400)
    assert "PW1234-secret" not in await everything_shown(api, ACCOUNT)
    kept = api.emu.journal.entries(path=ACCOUNT)[-1].request_body
    assert isinstance(kept, str)
    item = json.loads(kept)["data"][0]  # still JSON, so the dashboard shows it parsed
    assert REDACTED in item.values() or item == {"password": None}
    assert item.get("note", "kept") == "kept"


async def test_a_json_secret_in_a_body_too_large_to_parse_is_removed(api: Api) -> None:
    filler = "x" * PARSE_LIMIT
    for key in ("password", "pass\\u0077ord"):
        body = f'{{"data": [{{"{key}": ["PW1234-secret", {{"a": "]"}}], "note": "{filler}"}}]}}'
        response = await api.call(ACCOUNT, body=body, headers={"content-type": "application/json"})
        assert response.status_code in (200, 400, 413)
        assert "PW1234-secret" not in await everything_shown(api, ACCOUNT)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", None])
async def test_a_form_secret_is_removed_by_the_name_the_server_reads(
    api: Api, content_type: str | None
) -> None:
    secret = "abcd efgh,ijkl;mnop'qrst&uvw"
    app = await create_app(api, client_secret=secret)
    headers = {} if content_type is None else {"content-type": content_type}
    for form in (
        f"grant_type=client_credentials&client_id={app['client_id']}&client_secre%74="
        + secret.replace("&", "%26"),
        f"client_secret={secret.replace('&', '%26')}&grant_type=client_credentials"
        f"&client_id={app['client_id']}",
    ):
        response = await api.http.post("/oauth/token", content=form, headers=headers)
        assert response.status_code == 200, response.text  # the server read the secret whole
        text = await everything_shown(api, "/oauth/token")
        for part in ("abcd", "efgh", "ijkl", "mnop", "qrst", "uvw"):
            assert part not in text
        assert response.json()["access_token"] not in text
        kept = api.emu.journal.entries(path="/oauth/token")[-1].request_body
        assert isinstance(kept, str)
        assert f"client_id={app['client_id']}" in kept
        assert f"client_secret={REDACTED}" in kept


def sample(**changes: Any) -> JournalEntry:
    fields: dict[str, Any] = {
        "time": 1.0, "request_id": "r", "method": "POST", "path": ACCOUNT, "user": None,
        "app_id": None, "client_ip": "127.0.0.1", "status": 200,
        "request_headers": {"Authorization": "Bearer tok-123456789", "cookie": "s=1"},
        "request_body": b'{"password": "hunter22"}',
        "response_headers": {"content-type": "application/json"},
        "response_body": b'{"data": [{"secretKey": "abcdefgh"}]}',
    }  # fmt: skip
    fields.update(changes)
    return JournalEntry(**fields)


def assert_clean(entry: JournalEntry) -> None:
    text = json.dumps(entry.to_dict())
    for secret in ("tok-123456789", "hunter22", "abcdefgh", "s=1"):
        assert secret not in text
    assert entry.request_headers is not None
    assert entry.request_headers["cookie"] == REDACTED


def test_memory_journal_ids_and_redaction() -> None:
    journal = Journal()
    first, second = journal.record(sample()), journal.record(sample())
    assert (first.id, second.id) == ("1", "2")
    assert journal.get("2") == second
    assert journal.get("3") is None
    assert_clean(first)


@pytest.mark.redis
def test_redis_journal_keeps_the_exchange_redacted() -> None:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: the Redis journal was not tested")
    journal = RedisJournal(url, key=f"mcapi:test-{uuid.uuid4().hex}:journal", maxlen=5)
    try:
        recorded = journal.record(sample())
        assert "-" in recorded.id
        found = journal.get(recorded.id)
        assert found == recorded
        listed = journal.entries()[-1]  # the listing leaves the exchange in its own stream
        assert listed == recorded._replace(
            request_headers=None, request_body=None, response_headers=None, response_body=None
        )
        for n in range(6):
            journal.record(sample(request_id=f"r{n}"))
        assert journal.get(recorded.id) is None  # fallen off both streams
        assert len(journal) == 5
        newest = journal.entries()[-1]
        assert journal.get(newest.id) is not None
        assert journal.get(newest.id).request_body == recorded.request_body  # type: ignore[union-attr]
        assert journal.get("0-1") is None
        assert journal.get("not-an-id") is None
        assert_clean(recorded)
    finally:
        journal.clear()
        journal.close()


@pytest.mark.redis
async def test_an_awaited_append_survives_redis_forgetting_its_scripts() -> None:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: the Redis journal was not tested")
    journal = RedisJournal(url, key=f"mcapi:test-{uuid.uuid4().hex}:journal", maxlen=5)
    try:
        first = await journal.record_async(sample(request_id="before"))
        redis.Redis.from_url(url).script_flush()  # as after a restart of Redis
        second = await journal.record_async(sample(request_id="after"))
        # both in the shared stream (a stream id), none kept in this process's memory instead
        assert "-" in first.id and "-" in second.id
        assert journal.get(second.id) == second
    finally:
        journal.clear()
        journal.close()
