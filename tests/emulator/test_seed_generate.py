"""Generated data from a seed document's ``generate`` table, and the demo tenant's own data.

Seeds go through the admin API (``POST /_emulator/seed``, JSON and TOML) and the generated data is
read back the way an integration reads it: signed calls to the hold list, message search and
get-siem-logs with keys the seed fixed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator
from mcapi.emulator._store import SeedError, apply_seed, load_seed_file
from tests.emulator.conftest import Api

pytestmark = pytest.mark.anyio

DOCS_SEED = Path(__file__).resolve().parents[2] / "docs" / "seed-file.md"
HOLD_LIST = "/api/gateway/get-hold-message-list"
ACCESS_KEY = "acme-generated-data-key-01"
SECRET_KEY = "c2VjcmV0LWtleS1mb3ItdGhlLWFjbWUtYWRtaW4="
APP_ID = "acme-app-id-0001"
APP_KEY = "acme-app-key-0001"


def seed_with(generate: Any) -> dict[str, Any]:
    """One account with a domain, an application, an administrator and a fixed binding."""
    return {
        "accounts": [
            {
                "code": "CUSA20001",
                "name": "Acme",
                "domains": ["acme.example"],
                "applications": [{"name": "app", "app_id": APP_ID, "app_key": APP_KEY}],
                "users": [{"email": "ops@acme.example", "permissions": ["*"]}],
                "bindings": [
                    {"user": "ops@acme.example", "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
                ],
                "generate": generate,
            }
        ]
    }


async def signed_call(api: Api, path: str, data: list[dict[str, Any]]) -> httpx.Response:
    headers = signed_headers(
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, app_id=APP_ID, app_key=APP_KEY, path=path,
        date=format_date(api.emu.clock.now()), request_id=new_request_id(),
    )  # fmt: skip
    return await api.http.post(path, json={"data": data}, headers=headers)


async def test_a_seeds_generate_table_fills_the_account(api: Api) -> None:
    generate = {"seed": 4, "users": 6, "days": 2, "messages_per_user_day": 5}
    answer = (await api.admin("POST", "/seed?wait=60", seed_with(generate))).json()
    assert answer["created"]["accounts"] == 1
    made = answer["generated"]["CUSA20001"]
    assert made["users"] == 6 and made["messages"] > 0 and made["siem_files"] > 0
    held = await signed_call(api, HOLD_LIST, [{"admin": True}])
    assert held.status_code == 200
    assert len(held.json()["data"]) == made["held"] > 0
    search = await signed_call(api, "/api/message-finder/search", [{}])
    assert search.json()["data"][0]["trackedEmails"]
    files, token = [], None
    for _ in range(20):  # the first 30-minute files may fall in a quiet night
        item = {"type": "MTA", **({"token": token} if token else {})}
        siem = await signed_call(api, "/api/audit/get-siem-logs", [item])
        assert siem.status_code == 200
        files.append(siem.content)
        token = siem.headers["mc-siem-token"]
    assert b"acc=CUSA20001" in b"".join(files)
    # the same operation as the generate route: the same arguments, the same data
    again = (await api.admin("POST", "/accounts/CUSA20001/generate?wait=60", generate)).json()
    assert {**again["generated"], "users": 6} == made


async def test_a_toml_seed_with_defaults_generates_too(api: Api) -> None:
    toml = (
        '[[accounts]]\ncode = "CUSA20002"\nname = "T"\ndomains = ["t.example"]\n'
        "[accounts.generate]\nusers = 3\ndays = 1\n"
    )
    response = await api.http.post(
        "/_emulator/seed?wait=60", content=toml.encode(),
        headers={"Authorization": f"Bearer {api.creds.admin_token}",
                 "Content-Type": "application/toml"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["generated"]["CUSA20002"]["users"] == 3


@pytest.mark.parametrize(
    ("generate", "message"),
    [
        ({"users": 6000}, "accounts[0].generate.users: must be between 1 and 5000, got 6000"),
        ({"users": 0}, "accounts[0].generate.users: must be between 1 and 5000, got 0"),
        ({"days": 31}, "accounts[0].generate.days: must be between 1 and 30, got 31"),
        ({"days": "7"}, "accounts[0].generate.days: expected a whole number, got a string"),
        ({"seed": True}, "accounts[0].generate.seed: expected a whole number, got a boolean"),
        ({"seed": -1}, "accounts[0].generate.seed: must be between 0 and"),
        (
            {"messages_per_user_day": 501},
            "accounts[0].generate.messages_per_user_day: must be between 0 and 500",
        ),
        ({"colour": "red"}, "accounts[0].generate.colour: unknown key (known: days, "),
        ([], "accounts[0].generate: expected a table/object, got a list"),
    ],
)
async def test_a_bad_generate_table_loads_nothing(api: Api, generate: Any, message: str) -> None:
    response = await api.http.post(
        "/_emulator/seed", json=seed_with(generate),
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"].startswith(message), response.json()["error"]
    assert api.emu.store.find_account("CUSA20001") is None
    # the generate route refuses the same values with the same words
    if isinstance(generate, dict):
        route = await api.http.post(
            "/_emulator/accounts/CUSA12345/generate", json=generate,
            headers={"Authorization": f"Bearer {api.creds.admin_token}"},
        )  # fmt: skip
        assert route.status_code == 400
        # the body's fields are named as the body names them
        body_message = message.removeprefix("accounts[0].generate.")
        assert route.json()["error"].startswith(body_message)
        [problem] = route.json()["problems"]
        assert problem["field"] == body_message.partition(":")[0]


def test_generate_needs_a_domain_for_the_people() -> None:
    doc = {"accounts": [{"code": "CUSA3", "name": "No domain", "generate": {}}]}
    emulator = Emulator("sqlite://", kdf_n=2**10)
    try:
        with pytest.raises(SeedError, match=r"accounts\[0\]\.generate: needs a domain"):
            emulator.admin.seed(doc)
        assert emulator.store.list_accounts() == []
    finally:
        emulator.close()


def _doc_block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", DOCS_SEED.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/seed-file.md has no {language} example"
    return found.group(1)


def test_the_documented_examples_generate_the_same_data(tmp_path: Path) -> None:
    """The TOML and JSON examples of docs/seed-file.md, loaded as a user loads them, ask for the
    same generated data, and the emulator makes it."""
    made = []
    for language in ("toml", "json"):
        path = tmp_path / f"seed.{language}"
        path.write_text(_doc_block(language), encoding="utf-8")
        emulator = Emulator("sqlite://", kdf_n=2**10)
        try:
            emulator.clock.set(1_750_000_000)
            summary = emulator.admin.seed(load_seed_file(path))
            made.append(dict(summary.generated))
        finally:
            emulator.close()
    assert made[0] == made[1]
    assert made[0]["CUSA10001"]["users"] == 20  # addresses taken by the seed's users are skipped
    assert made[0]["CUSA10001"]["messages"] > 0


def test_apply_seed_alone_only_plans_the_generation() -> None:
    """The store layer validates ``generate`` but leaves running it to the emulator's operation."""
    emulator = Emulator("sqlite://", kdf_n=2**10)
    try:
        summary = apply_seed(emulator.store, seed_with({"users": 2}), now=1_750_000_000)
        assert summary.generate["CUSA20001"].users == 2
        assert summary.generated == {}
    finally:
        emulator.close()


# ---- the demo tenant's data --------------------------------------------------------------------


def test_the_demo_data_is_generated_once(tmp_path: Path) -> None:
    # How long it takes is measured by bench/emulator_throughput.py, not asserted here.
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = Emulator(url, kdf_n=2**10)
    creds = first.load_demo(generate_data=True)
    assert creds.generated["users"] == 25 and creds.generated["messages"] > 0
    held = _hold_list(first, creds)
    first.close()
    restarted = Emulator(url, kdf_n=2**10)  # a restart on the same database file
    try:
        again = restarted.load_demo(generate_data=True)
        assert again.generated == {}
        assert again.access_key == creds.access_key
        assert _hold_list(restarted, again) == held  # the same rows: nothing generated again
    finally:
        restarted.close()


def test_the_fixture_demo_has_no_generated_data(mcapi_emulator: Emulator) -> None:
    assert mcapi_emulator.load_demo().generated == {}
    assert len(mcapi_emulator.admin.users()) == 3


def _hold_list(emulator: Emulator, creds: Any) -> list[dict[str, Any]]:
    from starlette.testclient import TestClient

    headers = signed_headers(
        access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
        app_key=creds.app_key, path=HOLD_LIST, date=format_date(emulator.clock.now()),
        request_id=new_request_id(),
    )  # fmt: skip
    with TestClient(emulator.app) as client:
        response = client.post(HOLD_LIST, json={"data": [{"admin": True}]}, headers=headers)
    assert response.status_code == 200
    items: list[dict[str, Any]] = json.loads(response.content)["data"]
    assert items
    return items
