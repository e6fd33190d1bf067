"""The dashboard's routes without a browser: login, sessions, CSRF, what pages may show, ``GET /``.

In-process (ASGI transport), as a browser would talk to it: cookies kept by the httpx client.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._ui import login_path
from mcapi.emulator._ui._auth import ONCE_SECONDS, UiAuth
from tests.emulator.conftest import Api

pytestmark = pytest.mark.anyio

UI = "/_emulator/ui"
PAGES = ("", "/clock", "/faults", "/users", "/quotas", "/journal/rows")
ACCOUNT = "/api/account/get-account"


@pytest.fixture
async def browser(emu: Emulator, creds: EmulatorCredentials) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client with no session yet."""
    transport = httpx.ASGITransport(app=emu.app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        yield http


async def log_in(browser: httpx.AsyncClient, emu: Emulator) -> str:
    """Log in with a one-time link; the CSRF token the pages carry."""
    entered = await browser.get(login_path(emu.state))
    assert entered.status_code == 200
    page = await browser.get(UI)
    assert page.status_code == 200
    found = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.text)
    assert found is not None
    return found[1]


async def test_every_page_needs_a_session(browser: httpx.AsyncClient) -> None:
    for path in PAGES:
        response = await browser.get(UI + path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"{UI}/login"
    htmx = await browser.get(f"{UI}/journal/rows", headers={"HX-Request": "true"})
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, f"{UI}/login")
    write = await browser.post(f"{UI}/clock", data={"action": "freeze"})
    assert write.status_code == 401
    forged = await browser.get(UI, cookies={"mcapi_ui": "9999999999.nonce.0000"})
    assert forged.status_code == 303
    login = await browser.get(f"{UI}/login")
    assert login.status_code == 200 and 'name="token"' in login.text


async def test_the_one_time_link_sets_a_strict_cookie_and_works_once(
    browser: httpx.AsyncClient, emu: Emulator, creds: EmulatorCredentials
) -> None:
    link = login_path(emu.state)
    entered = await browser.get(link)
    cookie = entered.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and f"Path={UI}" in cookie
    assert f'url={UI}"' in entered.text  # moves on by itself, without the ticket
    page = await browser.get(UI)
    assert page.status_code == 200
    assert creds.admin_token not in page.text
    assert "once=" not in page.text
    browser.cookies.clear()
    again = await browser.get(link)
    assert again.status_code == 401
    assert "used already or has expired" in again.text
    assert "set-cookie" not in again.headers


async def test_a_one_time_link_expires_on_the_real_clock(emu: Emulator) -> None:
    now = [1_800_000_000.0]
    auth = UiAuth(emu.state, now=lambda: now[0])
    expired, fresh = auth.once_ticket(), auth.once_ticket()
    now[0] += ONCE_SECONDS
    assert not auth.use_once(expired)
    now[0] -= 1
    assert auth.use_once(fresh)
    assert not auth.use_once(fresh)
    assert not auth.use_once(fresh.replace(".", ".x", 1))  # a forged nonce


async def test_the_login_form_takes_the_admin_token(
    browser: httpx.AsyncClient, creds: EmulatorCredentials
) -> None:
    wrong = await browser.post(f"{UI}/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    right = await browser.post(f"{UI}/login", data={"token": creds.admin_token})
    assert right.status_code == 200 and "mcapi_ui=" in right.headers["set-cookie"]
    for path in PAGES:
        page = await browser.get(UI + path)
        assert page.status_code == 200, path
        assert creds.admin_token not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_writes_need_the_csrf_token(browser: httpx.AsyncClient, emu: Emulator) -> None:
    csrf = await log_in(browser, emu)
    missing = await browser.post(f"{UI}/clock", data={"action": "freeze"})
    assert missing.status_code == 403
    wrong = await browser.post(
        f"{UI}/clock", data={"action": "freeze"}, headers={"X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    elsewhere = await browser.post(
        f"{UI}/clock", data={"action": "freeze", "csrf": csrf},
        headers={"Origin": "http://evil.example"},
    )  # fmt: skip
    assert elsewhere.status_code == 403
    assert emu.clock.state()["frozen"] is False
    by_header = await browser.post(
        f"{UI}/clock",
        data={"action": "freeze"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert by_header.status_code == 200 and emu.clock.state()["frozen"] is True
    by_field = await browser.post(f"{UI}/clock", data={"action": "resume", "csrf": csrf})
    assert by_field.status_code == 200 and emu.clock.state()["frozen"] is False
    logout = await browser.post(f"{UI}/logout", data={"csrf": csrf})
    assert logout.status_code == 303
    assert (await browser.get(UI)).status_code == 303


async def test_writes_from_the_public_url_behind_a_proxy(
    browser: httpx.AsyncClient, emu: Emulator
) -> None:
    public = "https://emu.example.org"  # a TLS proxy in front, which also rewrites Host
    emu.state.config = replace(emu.state.config, public_base_url=public)
    entered = await browser.get(login_path(emu.state))
    assert "secure" in entered.headers["set-cookie"].lower().split("; ")
    found = re.search(r"mcapi_ui=([^;]+)", entered.headers["set-cookie"])
    assert found is not None
    cookie = {"Cookie": f"mcapi_ui={found[1]}"}  # the client keeps a Secure cookie for https
    page = await browser.get(UI, headers=cookie)
    token = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.text)
    assert token is not None
    form = {"action": "freeze", "csrf": token[1]}
    for origin in (
        "https://evil.example",
        "http://emu.example.org",
        "https://emu.example.org:8443",
    ):
        refused = await browser.post(f"{UI}/clock", data=form, headers={**cookie, "Origin": origin})
        assert refused.status_code == 403, origin
    assert emu.clock.state()["frozen"] is False
    proxied = await browser.post(f"{UI}/clock", data=form, headers={**cookie, "Origin": public})
    assert proxied.status_code == 200 and emu.clock.state()["frozen"] is True
    logout = await browser.post(f"{UI}/logout", data=form, headers={**cookie, "Origin": public})
    assert "secure" in logout.headers["set-cookie"].lower().split("; ")


async def test_expiring_a_binding_expires_the_one_shown_after_a_login(
    api: Api, browser: httpx.AsyncClient, emu: Emulator
) -> None:
    password = api.creds.admin_password
    assert password is not None
    made = await api.login(api.creds.admin_email, password)
    key = made.json()["data"][0]["accessKey"]
    csrf = await log_in(browser, emu)
    page = (await browser.get(f"{UI}/users")).text
    row = re.search(
        rf"<code>{re.escape(key[:4])}….*?name=\"binding\" value=\"([^\"]+)\"", page, re.S
    )
    assert row is not None
    assert key not in page and key[:8] not in row[1]
    emu.clock.set(emu.clock.now() - 3600)  # a login between render and click, listed first
    later = await api.login(api.creds.admin_email, password)
    other = later.json()["data"][0]["accessKey"]
    store, user = emu.state.store, emu.admin.user(api.creds.admin_email)
    before = {b.access_key: b.expires_at for b in store.list_bindings(user.id)}
    assert next(iter(before)) == other
    expired = await browser.post(
        f"{UI}/users/{api.creds.admin_email}/expire-binding",
        data={"binding": row[1]}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )  # fmt: skip
    assert expired.status_code == 200
    now = emu.clock.now()
    after = {b.access_key: b for b in store.list_bindings(user.id)}
    assert after[key].expired(now)
    assert {k: b.expires_at for k, b in after.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }
    unknown = await browser.post(
        f"{UI}/users/{api.creds.admin_email}/expire-binding",
        data={"binding": "0"}, headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )  # fmt: skip
    assert unknown.status_code == 422


async def test_forms_use_the_admin_api_validation(
    browser: httpx.AsyncClient, emu: Emulator
) -> None:
    csrf = await log_in(browser, emu)
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    bad = await browser.post(
        f"{UI}/faults", data={"path": "/api/*", "times": "0", "status": "500", "sub_code": "0006"},
        headers=headers,
    )  # fmt: skip
    assert bad.status_code == 422
    assert "match.times" in bad.text and "must be at least 1" in bad.text
    assert 'value="/api/*"' in bad.text  # the form comes back as typed
    not_a_number = await browser.post(
        f"{UI}/faults", data={"path": "/api/*", "status": "x"}, headers=headers
    )
    assert not_a_number.status_code == 422 and "effect.status" in not_a_number.text
    assert emu.faults.state() == []
    quota = await browser.post(
        f"{UI}/faults/quota", data={"path": ACCOUNT, "call_number": "2", "reset_ms": "5000"},
        headers=headers,
    )  # fmt: skip
    assert quota.status_code == 200
    [rule] = emu.faults.state()
    assert rule["at"] == "quota" and rule["effect"]["reset_ms"] == 5000
    gone = await browser.post(f"{UI}/faults/{rule['id']}/remove", headers=headers)
    assert gone.status_code == 200 and emu.faults.state() == []
    again = await browser.post(f"{UI}/faults/{rule['id']}/remove", headers=headers)
    assert again.status_code == 422 and "no rule" in again.text
    lock = await browser.post(f"{UI}/users/nobody@nowhere.example/lock", headers=headers)
    assert lock.status_code == 422


async def test_pages_show_no_secret(api: Api, browser: httpx.AsyncClient, emu: Emulator) -> None:
    password = api.creds.admin_password
    assert password is not None
    login = await api.login(api.creds.admin_email, password)
    new_secret = login.json()["data"][0]["secretKey"]
    new_key = login.json()["data"][0]["accessKey"]
    signed = await api.call(ACCOUNT, [{}])
    assert signed.status_code == 200
    await log_in(browser, emu)
    shown = []
    for entry in emu.journal.entries():
        page = await browser.get(f"{UI}/journal/{entry.id}", headers={"HX-Request": "true"})
        assert page.status_code == 200
        shown.append(page.text)
    shown.append((await browser.get(f"{UI}/users")).text)
    text = "\n".join(shown)
    for secret in (password, new_secret, new_key, api.creds.secret_key, api.creds.access_key,
                   signed.request.headers["authorization"].split(":", 1)[1]):  # fmt: skip
        assert secret not in text
    assert f"{new_key[:4]}…" in text  # the users page names bindings by their first characters


async def test_an_entry_page_names_the_code(
    api: Api, browser: httpx.AsyncClient, emu: Emulator
) -> None:
    refused = await api.call(ACCOUNT, [{}], headers={"x-mc-date": "Mon, 01 Jan 2001 00:00:00 UTC"})
    assert refused.status_code == 401
    await log_in(browser, emu)
    entry = emu.journal.entries(path=ACCOUNT)[-1]
    page = await browser.get(f"{UI}/journal/{entry.id}")
    assert page.status_code == 200
    assert "401 0004" in page.text and "Meaning." in page.text and "Remedy." in page.text
    missing = await browser.get(f"{UI}/journal/99999")
    assert missing.status_code == 404 and "No journal entry 99999" in missing.text
    filtered = await browser.get(f"{UI}/journal/rows", params={"status": "401", "sub_code": "4"})
    assert ACCOUNT in filtered.text
    none = await browser.get(f"{UI}/journal/rows", params={"user": "nobody"})
    assert ACCOUNT not in none.text and "match these filters" in none.text


async def test_polled_rows_are_only_the_new_ones(
    api: Api, browser: httpx.AsyncClient, emu: Emulator
) -> None:
    await api.call(ACCOUNT, [{}])
    await log_in(browser, emu)
    [first] = emu.journal.entries()
    page = (await browser.get(UI)).text
    assert f'id="newest" name="after" value="{first.id}"' in page
    nothing = await browser.get(f"{UI}/journal/rows", params={"after": first.id})
    assert "<tr" not in nothing.text and "hx-reswap" not in nothing.headers
    await api.call("/api/login/logout", [])
    second = emu.journal.entries()[-1]
    fresh = await browser.get(f"{UI}/journal/rows", params={"after": first.id})
    assert fresh.text.count("<tr") == 1 and f'data-entry="{second.id}"' in fresh.text
    assert f'value="{second.id}" hx-swap-oob="true"' in fresh.text  # the page's newest moves on
    emu.journal.clear()  # what the page had is gone: every row, replacing the page's
    await api.call(ACCOUNT, [{}])
    whole = await browser.get(f"{UI}/journal/rows", params={"after": second.id})
    assert whole.headers["hx-reswap"] == "innerHTML" and whole.text.count("<tr") == 1


async def test_the_quota_page_shows_what_calls_spent(
    api: Api, browser: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.clock.freeze()  # no refill between the calls and the page
    for _ in range(2):
        assert (await api.call(ACCOUNT, [{}])).status_code == 200
    limit = emu.admin.account(api.creds.account_code).quota_limit
    await log_in(browser, emu)
    page = (await browser.get(f"{UI}/quotas")).text
    assert f"{api.creds.admin_email}: {limit - 2} of {limit} calls left" in page
    assert f"{api.creds.reader_email}: {limit} of {limit} calls left" in page
    assert "API 2.0 application" in page and api.creds.client_id in page
    assert page.index(api.creds.admin_email) < page.index(api.creds.reader_email)  # emptiest first


async def test_a_bearer_token_works_without_cookie_or_csrf(
    browser: httpx.AsyncClient, emu: Emulator, creds: EmulatorCredentials
) -> None:
    bearer = {"Authorization": f"Bearer {creds.admin_token}"}
    assert (await browser.get(f"{UI}/users", headers=bearer)).status_code == 200
    frozen = await browser.post(f"{UI}/clock", data={"action": "freeze"}, headers=bearer)
    assert frozen.status_code == 200 and emu.clock.state()["frozen"] is True
    link = await browser.post(f"{UI}/links", headers=bearer)
    assert link.status_code == 200 and "/login?once=" in link.json()["url"]
    assert (await browser.post(f"{UI}/links")).status_code == 401
    assert (await browser.get(link.json()["path"])).status_code == 200


async def test_the_root_points_browsers_to_the_dashboard(browser: httpx.AsyncClient) -> None:
    html = await browser.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert f'href="{UI}"' in html.text
    document = await browser.get("/", headers={"Accept": "application/json"})
    assert document.status_code == 200
    assert document.json()["dashboard"].endswith(UI)
    posted = await browser.post("/")
    assert posted.status_code == 404  # the API's own answer for an unknown function
    css = await browser.get(f"{UI}/static/dashboard.css")
    htmx = await browser.get(f"{UI}/static/htmx.min.js")
    assert css.status_code == 200 and htmx.status_code == 200 and "htmx" in htmx.text
