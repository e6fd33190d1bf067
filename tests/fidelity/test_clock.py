"""Point 8: moving the emulator clock expires bindings (418) for integrations that sign with the
wall clock, instead of refusing every signature (401 0004); and one binding can expire at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.client import Client
from mcapi.emulator import Emulator, EmulatorConfig
from tests.fidelity.conftest import THREE_DAYS, Keys, Site, code_of, served, signed

ACCOUNT = "/api/account/get-account"


@pytest.fixture
def emulator_clock_site() -> Iterator[Site]:
    """A served emulator measuring x-mc-date against its own clock (``--skew-clock emulator``)."""
    yield from served(EmulatorConfig(skew_reference="emulator"))


def _cli(site: Site, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["emulator", *args, "--url", site.url, "--admin-token", site.emulator.admin_token]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_advance_then_a_wall_clock_call_meets_418(site: Site) -> None:
    keys = site.login_keys()
    assert site.call(ACCOUNT, "{}", keys).status_code == 200
    _cli(site, "clock", "--advance", "3d")
    expired = site.call(ACCOUNT, "{}", keys)
    assert code_of(expired) == "418 0001", expired.text
    assert expired.json()["fail"][0]["errors"][0]["code"] == "err_xdk_binding_expired"
    # the binding that never expires still answers: the date check did not refuse the signature
    assert site.call(ACCOUNT, "{}").status_code == 200
    # a refresh with the expired key, as the connectors do, and the same keys work again
    body = str({"data": [{"userName": site.creds.admin_email, "accessKey": keys.access_key}]})
    assert site.login(body).status_code == 200
    assert site.call(ACCOUNT, "{}", keys).status_code == 200


def test_admin_api_advance_then_418(site: Site) -> None:
    keys = site.login_keys()
    moved = site.admin("POST", "clock", {"advance": THREE_DAYS})
    assert moved.status_code == 200, moved.text
    assert code_of(site.call(ACCOUNT, "{}", keys)) == "418 0001"


def test_a_wall_clock_date_far_from_the_wall_is_still_refused(site: Site) -> None:
    stale = time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(time.time() - 3600)) + " UTC"
    response = site.post(ACCOUNT, "{}", signed(ACCOUNT, site.admin_keys, date=stale))
    assert code_of(response) == "401 0004"
    # signing with the advanced emulator clock is now the stale date
    site.emulator.clock.advance(THREE_DAYS)
    ahead = time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(site.emulator.clock.now()))
    response = site.post(ACCOUNT, "{}", signed(ACCOUNT, site.admin_keys, date=ahead + " UTC"))
    assert code_of(response) == "401 0004"
    assert "wall clock" in site.emulator.journal.entries(path=ACCOUNT)[-1].reason


def test_the_emulator_clock_option_keeps_the_old_rule(emulator_clock_site: Site) -> None:
    site = emulator_clock_site
    keys = site.login_keys()
    site.admin("POST", "clock", {"advance": THREE_DAYS})
    assert code_of(site.call(ACCOUNT, "{}", keys)) == "401 0004"
    moved = time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(site.emulator.clock.now()))
    assert code_of(site.post(ACCOUNT, "{}", signed(ACCOUNT, keys, date=moved + " UTC"))) == (
        "418 0001"
    )


def test_the_client_refreshes_once_and_succeeds(site: Site) -> None:
    """mcapi's client, unmodified (wall clock, no injected clock), across a 3-day advance."""
    creds = site.creds
    client = Client.login(
        creds.admin_email, site.password, app_id=creds.app_id, app_key=creds.app_key,
        discovery_url=site.url,
    )  # fmt: skip
    with client:
        assert client.call(ACCOUNT).data
        _cli(site, "clock", "--advance", "3d")
        assert client.call(ACCOUNT).data[0]["accountCode"] == creds.account_code
    answers = [(e.path, e.status) for e in site.emulator.journal.entries()][-3:]
    assert answers == [(ACCOUNT, 418), ("/api/login/login", 200), (ACCOUNT, 200)]


def test_expire_one_binding_by_cli_admin_api_and_python(site: Site) -> None:
    first, second, third = site.login_keys(), site.login_keys(), site.login_keys()
    assert "expired" in _cli(site, "expire-binding", first.access_key)
    assert site.admin("POST", f"bindings/{second.access_key}/expire").status_code == 200
    answer = site.emulator.admin.expire_binding(third.access_key)
    assert answer["user"] == site.creds.admin_email
    for keys in (first, second, third):
        assert code_of(site.call(ACCOUNT, "{}", keys)) == "418 0001"
    # the other bindings are untouched
    assert site.call(ACCOUNT, "{}").status_code == 200
    assert site.call(ACCOUNT, "{}", site.login_keys()).status_code == 200


def test_expiring_an_unknown_or_revoked_binding_is_404(site: Site) -> None:
    assert site.admin("POST", "bindings/no-such-key/expire").status_code == 404
    keys = site.login_keys()
    site.emulator.admin.revoke_bindings(site.creds.admin_email)
    missing = site.admin("POST", f"bindings/{keys.access_key}/expire")
    assert missing.status_code == 404 and "no live binding" in missing.json()["error"]


def test_the_plugin_fixture_accepts_either_clock(
    mcapi_emulator: Emulator, mcapi_server: str
) -> None:
    """The pytest plugin's emulator measures dates against either clock: a test signing with
    ``mcapi_emulator.clock.now()`` and an integration signing with the wall clock both pass the
    date check after an advance, and both meet 418 on an expired binding."""
    creds = mcapi_emulator.load_demo()
    binding = mcapi_emulator.admin.create_binding(creds.admin_email)
    keys = Keys(creds.app_id, creds.app_key, binding.access_key, binding.secret_key)
    mcapi_emulator.clock.advance(THREE_DAYS)
    emulator_date = time.strftime(
        "%a, %d %b %Y %H:%M:%S UTC", time.gmtime(mcapi_emulator.clock.now())
    )
    with httpx.Client(base_url=mcapi_server) as http:
        for date in (None, emulator_date):
            response = http.post(ACCOUNT, content=b"{}", headers=signed(ACCOUNT, keys, date=date))
            assert code_of(response) == "418 0001", response.text
