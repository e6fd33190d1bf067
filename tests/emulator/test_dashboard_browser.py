"""The dashboard in a real browser: Debian's chromium driven by Playwright, against an emulator
served on a loopback port and called with the mcapi client.

Each test saves a screenshot of the pages it visits under ``test-artifacts/dashboard/``. The
tests skip (with the reason) only where there is no browser: Playwright not installed, or no
chromium at ``/usr/bin/chromium`` (``MCAPI_CHROMIUM`` names another); ``.ci/run`` installs it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mcapi
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._ui import login_path

CHROMIUM = Path(os.environ.get("MCAPI_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
ACCOUNT = "/api/account/get-account"
UI = "/_emulator/ui"


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set MCAPI_CHROMIUM)"
    return None


pytestmark = [
    pytest.mark.skipif(_missing() is not None, reason=f"browser tests skipped: {_missing()}"),
    pytest.mark.xdist_group("browser"),
]

if _missing() is None:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
else:  # pragma: no cover - the module's tests are skipped
    Browser = Page = Any


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def logged_in(page: Page, server: str, emulator: Emulator) -> None:
    """Log the browser in through a one-time link, as ``serve``'s banner offers."""
    page.goto(server + login_path(emulator.state))
    page.wait_for_url(re.compile(f"{UI}$"))
    expect(page.get_by_role("heading", name="Journal")).to_be_visible()


def client(server: str, creds: EmulatorCredentials, **keys: str) -> mcapi.Client:
    return mcapi.Client(
        base_url=server, app_id=creds.app_id, app_key=creds.app_key,
        access_key=keys.get("access_key", creds.access_key),
        secret_key=keys.get("secret_key", creds.secret_key),
    )  # fmt: skip


def test_the_journal_shows_calls_and_new_ones_arrive_without_reload(
    page: Page, mcapi_server: str, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    with client(mcapi_server, mcapi_credentials) as api:
        api.call(ACCOUNT)
    logged_in(page, mcapi_server, mcapi_emulator)
    rows = page.locator("#rows tr")
    expect(rows.filter(has_text=ACCOUNT)).to_have_count(1)
    page.evaluate("window.notReloaded = true")
    wrong = client(mcapi_server, mcapi_credentials, secret_key="d3Jvbmc=")
    with wrong, pytest.raises(mcapi.Unauthorized):
        wrong.call(ACCOUNT)
    refused = rows.filter(has_text="401 0004")
    expect(refused).to_have_count(1)  # polled in, the page was not reloaded:
    assert page.evaluate("window.notReloaded") is True
    newest = mcapi_emulator.journal.entries()[-1].id
    expect(page.locator("#newest")).to_have_value(newest)  # the next polls ask for newer rows
    for _ in range(2):
        with page.expect_response(lambda r: "/journal/rows" in r.url):
            pass
    expect(rows).to_have_count(2)  # nothing came twice
    refused.get_by_role("link").click()
    detail = page.locator("#detail")
    expect(detail).to_contain_text("signature")
    expect(detail).to_contain_text("Meaning.")
    expect(detail).to_contain_text("Remedy.")
    expect(detail).to_contain_text("x-mc-app-id")
    expect(detail).not_to_contain_text(mcapi_credentials.secret_key)
    shot(page, "journal")
    page.get_by_label("Status").fill("200")
    expect(rows.filter(has_text="401 0004")).to_have_count(0)
    expect(rows.filter(has_text=ACCOUNT)).to_have_count(1)


def test_a_fault_added_from_the_form_makes_the_next_call_fail(
    page: Page, mcapi_server: str, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    logged_in(page, mcapi_server, mcapi_emulator)
    page.get_by_role("link", name="Faults").click()
    form = page.locator("#fault-form")
    form.get_by_label("Path").fill(ACCOUNT)
    form.get_by_label("Status").fill("403")
    form.get_by_label("Sub code").fill("2")
    form.get_by_role("button", name="Add fault").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("effect.sub_code")  # the admin API's own validation
    assert mcapi_emulator.faults.state() == []
    shot(page, "faults-problem")
    form = page.locator("#fault-form")
    expect(form.get_by_label("Path")).to_have_value(ACCOUNT)  # the form keeps what was typed
    form.get_by_label("Sub code").fill("0002")
    form.get_by_role("button", name="Add fault").click()
    expect(page.get_by_role("button", name="Remove rule f1")).to_be_visible()
    with client(mcapi_server, mcapi_credentials) as api, pytest.raises(mcapi.Forbidden) as failed:
        api.call(ACCOUNT)
    assert (failed.value.status, failed.value.sub_code) == (403, "0002")
    page.reload()
    expect(page.locator("td").filter(has_text=re.compile(r"^1$")).first).to_be_visible()
    shot(page, "faults")
    page.get_by_role("button", name="Remove rule f1").click()
    expect(page.get_by_text("No rules")).to_be_visible()
    with client(mcapi_server, mcapi_credentials) as api:
        api.call(ACCOUNT)


def test_a_page_without_the_token_is_refused(
    page: Page, mcapi_server: str, mcapi_credentials: EmulatorCredentials
) -> None:
    for path in ("", "/faults", "/journal/1"):
        page.goto(f"{mcapi_server}{UI}{path}")
        page.wait_for_url(re.compile(f"{UI}/login$"))
        expect(page.get_by_label("Admin token")).to_be_visible()
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not this emulator's admin token")
    shot(page, "login")
    page.get_by_label("Admin token").fill(mcapi_credentials.admin_token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(f"{UI}$"))
    html = page.content()
    assert mcapi_credentials.admin_token not in html
    assert mcapi_credentials.admin_token not in page.url
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(f"{UI}/login$"))
    page.goto(f"{mcapi_server}{UI}/clock")
    page.wait_for_url(re.compile(f"{UI}/login$"))


def test_the_one_time_link_works_once(
    browser: Browser, page: Page, mcapi_server: str, mcapi_emulator: Emulator
) -> None:
    link = mcapi_server + login_path(mcapi_emulator.state)
    page.goto(link)
    page.wait_for_url(re.compile(f"{UI}$"))
    cookies = page.context.cookies()
    [session] = [c for c in cookies if c["name"] == "mcapi_ui"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    other = browser.new_context()
    try:
        second = other.new_page()
        second.goto(link)
        expect(second.get_by_role("alert")).to_contain_text("used already")
        second.goto(f"{mcapi_server}{UI}")
        second.wait_for_url(re.compile(f"{UI}/login$"))
    finally:
        other.close()


def test_clock_users_and_quota_pages(
    page: Page, mcapi_server: str, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    with client(mcapi_server, mcapi_credentials) as api:
        for _ in range(3):
            api.call(ACCOUNT)
    logged_in(page, mcapi_server, mcapi_emulator)
    page.get_by_role("link", name="Users").click()
    admin = page.get_by_role("region", name=mcapi_credentials.admin_email)
    admin.get_by_role("button", name="Lock").click()
    admin = page.get_by_role("region", name=mcapi_credentials.admin_email)
    expect(admin).to_contain_text("locked until")
    assert mcapi_emulator.admin.user(mcapi_credentials.admin_email).locked(
        mcapi_emulator.clock.now()
    )
    admin.get_by_role("button", name="Unlock").click()
    admin = page.get_by_role("region", name=mcapi_credentials.admin_email)
    expect(admin).to_contain_text("active")
    admin.get_by_role("button", name="Expire").first.click()
    admin = page.get_by_role("region", name=mcapi_credentials.admin_email)
    expect(admin.locator(".pill.warn", has_text="expired")).to_have_count(1)
    shot(page, "users")
    with client(mcapi_server, mcapi_credentials) as api, pytest.raises(mcapi.MimecastError) as got:
        api.call(ACCOUNT)
    assert (got.value.status, got.value.sub_code) == (418, "0001")

    page.get_by_role("link", name="Quotas").click()
    meter = page.get_by_role(
        "meter", name=re.compile(f"^{re.escape(mcapi_credentials.admin_email)}")
    )
    expect(meter.first).to_be_visible()
    shot(page, "quotas")

    page.get_by_role("link", name="Clock").click()
    page.get_by_role("button", name="Freeze", exact=True).click()
    expect(page.locator(".clock-card")).to_contain_text("frozen")
    before = mcapi_emulator.clock.now()
    page.get_by_role("button", name="+1 day").click()
    # Polled from here: the page's Content-Security-Policy (script-src 'self') forbids the eval
    # that page.wait_for_function needs for a predicate.
    deadline = time.monotonic() + 10
    while float(page.locator("#clock-now").get_attribute("data-now") or 0) < before + 86400 - 1:
        assert time.monotonic() < deadline, "the clock page did not show the day's advance"
        page.wait_for_timeout(50)
    assert mcapi_emulator.clock.now() == pytest.approx(before + 86400)
    expect(page.locator("#clock-badge")).to_contain_text("frozen")  # the header follows
    page.get_by_label("Advance by").fill("soon")
    page.get_by_role("button", name="Advance", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("advance")
    shot(page, "clock")
