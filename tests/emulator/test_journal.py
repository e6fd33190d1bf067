"""The request journal (bounded, filtered, JSON lines) and the redaction that guards it."""

from __future__ import annotations

import base64
import json
import string
import threading
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mcapi.emulator._journal import Journal, JournalEntry
from mcapi.emulator._redaction import REDACTED, redact

T0 = 1_700_000_000.0
SIEM = "/api/audit/get-siem-logs"


def entry(n: int, **changes: Any) -> JournalEntry:
    fields: dict[str, Any] = {
        "time": T0 + n,
        "request_id": f"req-{n}",
        "method": "POST",
        "path": "/api/account/get-account",
        "user": "alice@example.com",
        "app_id": "app-1",
        "client_ip": "127.0.0.1",
        "status": 200,
    }
    fields.update(changes)
    return JournalEntry(**fields)


# ---- journal -------------------------------------------------------------------------------------


def test_journal_keeps_only_the_newest_entries() -> None:
    journal = Journal(maxlen=3)
    for n in range(5):
        journal.record(entry(n))
    assert len(journal) == 3
    assert [e.request_id for e in journal.entries()] == ["req-2", "req-3", "req-4"]


def test_default_bound_is_1000() -> None:
    journal = Journal()
    for n in range(1200):
        journal.record(entry(n))
    assert journal.maxlen == 1000
    assert len(journal) == 1000
    assert journal.entries()[0].request_id == "req-200"


def test_filters_combine_and_limit_keeps_the_newest() -> None:
    journal = Journal()
    journal.record(entry(1))
    journal.record(entry(2, path=SIEM, status=401, sub_code="0004", check="signature"))
    journal.record(entry(3, path=SIEM))
    journal.record(entry(4, path=SIEM, status=401, sub_code="0004", check="signature"))
    assert [e.request_id for e in journal.entries(path=SIEM)] == ["req-2", "req-3", "req-4"]
    assert [e.request_id for e in journal.entries(status=401)] == ["req-2", "req-4"]
    assert [e.request_id for e in journal.entries(status=401, limit=1)] == ["req-4"]
    assert [e.request_id for e in journal.entries(since=T0 + 3)] == ["req-3", "req-4"]
    assert [e.request_id for e in journal.entries(request_id="req-3")] == ["req-3"]
    assert journal.entries(limit=0) == []
    journal.clear()
    assert journal.entries() == []


def test_jsonl_and_dict_forms() -> None:
    journal = Journal(maxlen=10)
    journal.record(
        entry(
            1,
            status=401,
            sub_code="0004",
            body_codes=("err_xdk_invalid_signature",),
            latency_ms=1.5,
            check="signature",
            reason="signature mismatch: x-mc-date 21 minutes off, window 15",
            fault="f1",
        )
    )
    journal.record(entry(2))
    lines = journal.to_jsonl().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["body_codes"] == ["err_xdk_invalid_signature"]
    assert first["check"] == "signature"
    assert first["reason"] == "signature mismatch: x-mc-date 21 minutes off, window 15"
    assert first["fault"] == "f1"
    assert json.loads(journal.to_jsonl(journal.entries(status=200)))["request_id"] == "req-2"
    assert journal.to_jsonl([]) == ""
    as_dict = journal.to_dict()
    assert as_dict["maxlen"] == 10
    assert [e["request_id"] for e in as_dict["entries"]] == ["req-1", "req-2"]
    json.dumps(as_dict)


def test_record_redacts_the_reason() -> None:
    journal = Journal()
    recorded = journal.record(entry(1, reason="bad header Authorization: MC AKEYAKEYAKEY:c2lnbmF0"))
    assert "c2lnbmF0" not in (recorded.reason or "")
    assert journal.entries()[0].reason == f"bad header Authorization: MC AKEY…:{REDACTED}"


def test_concurrent_records_stay_bounded() -> None:
    journal = Journal(maxlen=100)
    start = threading.Barrier(20)

    def work(t: int) -> None:
        start.wait(timeout=10)
        for n in range(200):
            journal.record(entry(n, request_id=f"{t}-{n}"))
            journal.entries(limit=5)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(journal) == 100
    assert len({e.request_id for e in journal.entries()}) == 100


def test_invalid_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="maxlen"):
        Journal(maxlen=0)


# ---- redaction -----------------------------------------------------------------------------------


def test_redaction_examples() -> None:
    assert redact("Authorization: MC AbCdEfGhIjKl:c2ln/bmF0+dXJl=") == (
        f"Authorization: MC AbCd…:{REDACTED}"
    )
    assert redact("Authorization: Basic-AD dXNlcjpwYXNz") == f"Authorization: Basic-AD {REDACTED}"
    assert redact({"authorization": "Basic-Cloud dXNlcjpwYXNz"}) == {"authorization": REDACTED}
    body = {"data": [{"accessKey": "ACCESSKEY-123456", "pageToken": "abc", "pageSize": 50}]}
    assert redact(body) == {"data": [{"accessKey": "ACCE…", "pageToken": "abc", "pageSize": 50}]}
    assert redact("nothing secret here: 42") == "nothing secret here: 42"
    assert redact(42) == 42


B64 = string.ascii_letters + string.digits + "+/="
secrets_b64 = st.text(alphabet=B64, min_size=16, max_size=64)
secrets_any = st.text(min_size=12, max_size=64)
FIXED = (
    "Authorization x-mc-date x-mc-req-id x-mc-app-id application/json Content-Type "
    "alice@example.com /api/login/login Tue, 24 Nov 2015 12:50:11 UTC app-1 data meta status "
    "login failed for user emailAddress secretKey secret_key SECRET-KEY password appKey "
    "mc-siem-token accessKey"
)


def gone(secret: str, output: object) -> bool:
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    escaped = json.dumps(secret)[1:-1]
    return secret not in text and escaped not in text


@settings(max_examples=200, deadline=None)
@given(access_key=secrets_b64, signature=secrets_b64)
def test_mc_signature_never_survives(access_key: str, signature: str) -> None:
    assume(access_key not in FIXED and signature not in FIXED)
    header = f"MC {access_key}:{signature}"
    as_text = redact(f"POST /api/audit/get-audit-events\r\nAuthorization: {header}\r\n")
    as_map = redact({"Authorization": header, "x-mc-app-id": "app-1"})
    for output in (as_text, as_map):
        assert gone(signature, output)
        assert gone(access_key, output)
    assert f"MC {access_key[:4]}…" in as_text


@settings(max_examples=200, deadline=None)
@given(user=st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=10), password=secrets_any)
def test_basic_credentials_never_survive(user: str, password: str) -> None:
    assume(password not in FIXED)
    credential = base64.b64encode(f"{user}:{password}".encode()).decode()
    for scheme in ("Basic-Cloud", "Basic-AD"):
        header = f"{scheme} {credential}"
        for output in (
            redact(f"Authorization: {header}"),
            redact({"Authorization": header}),
        ):
            assert gone(credential, output)
            assert gone(password, output)


@settings(max_examples=300, deadline=None)
@given(
    secret_key=secrets_any,
    password=secrets_any,
    app_key=secrets_any,
    token=secrets_any,
    access_key=secrets_b64,
    key_style=st.sampled_from(["secretKey", "secret_key", "SECRET-KEY"]),
)
def test_body_secrets_never_survive(
    secret_key: str, password: str, app_key: str, token: str, access_key: str, key_style: str
) -> None:
    secrets = (secret_key, password, app_key, token, access_key)
    assume(all(s not in FIXED for s in secrets))
    item = {
        key_style: secret_key,
        "password": password,
        "appKey": app_key,
        "mc-siem-token": token,
        "accessKey": access_key,
        "emailAddress": "alice@example.com",
    }
    body = {"meta": {"status": 200}, "data": [item], "fail": []}
    nested = {"message": json.dumps(body), "list": [json.dumps(item)]}
    outputs: list[object] = [
        redact(body),
        redact(json.dumps(body)),
        redact(json.dumps(body, indent=2)),
        redact(json.dumps(body, ensure_ascii=False)),
        redact(nested),
        redact(json.dumps(body).encode()).decode(),
    ]
    for output in outputs:
        for secret in secrets:
            assert gone(secret, output), (secret, output)
    assert redact(body)["data"][0]["emailAddress"] == "alice@example.com"


@settings(max_examples=200, deadline=None)
@given(password=secrets_b64, token=secrets_b64, app_key=secrets_b64)
def test_form_and_log_line_secrets_never_survive(password: str, token: str, app_key: str) -> None:
    assume(all(s not in FIXED for s in (password, token, app_key)))
    lines = [
        f"login failed for user alice@example.com password={password}&appKey={app_key}",
        f"token: {token}; password = '{password}'",
        f"app_key={app_key} x-mc-app-id=app-1",
    ]
    for line in lines:
        output = redact(line)
        for secret in (password, token, app_key):
            assert gone(secret, output), (secret, output)
