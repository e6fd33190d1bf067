"""SIEM files as integrations read them.

A small parser written the way SIEM integrations split what get-siem-logs hands out: a JSON
file is read for its top-level ``type`` and ``data``; a ``key_value`` file is cut into records on
CR/LF, a record into fields on ``|``, a field into key and value on the first ``=``; a zip holds
one file of the same name. The log type comes from the file name
(``receipt_20191125134532478.log``), never from the records. Every record of every type has
``datetime`` and the fields integrations map for its type.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from tests.fidelity._served import T0, post, served, served_tenant

PATH = "/api/audit/get-siem-logs"
SLOT = 1800
NAME = re.compile(
    r"(receipt|process|delivery|jrnl|spam|av|ttp_url|ttp_ap|ttp_ip)_(\d{17})\.(log|json|zip)"
)
#: The fields real records of each type carry and integrations map (elastic's mimecast
#: siem_logs pipeline and its sample of the platform's documented records).
FIELDS = {
    "receipt": {"datetime", "aCode", "acc", "SpamLimit", "IP", "Dir", "Subject", "headerFrom",
                "Sender", "Rcpt", "SpamScore", "Act", "TlsVer", "Cphr", "SpamInfo", "MsgId"},
    "process": {"datetime", "aCode", "acc", "AttSize", "Act", "AttCnt", "AttNames", "MsgSize",
                "MsgId"},
    "delivery": {"datetime", "aCode", "acc", "Delivered", "IP", "AttCnt", "Dir", "ReceiptAck",
                 "MsgId", "Subject", "Latency", "Sender", "Rcpt", "AttSize", "Attempt", "TlsVer",
                 "Cphr", "Snt", "UseTls", "Route"},
    "jrnl": {"datetime", "aCode", "acc", "Dir", "Subject", "MsgId", "Sender", "Rcpt",
             "RcptActType"},
    "spam": {"datetime", "aCode", "acc", "Sender", "headerFrom", "Recipient", "Route",
             "SenderDomain", "SourceIP", "Subject", "MsgId"},
    "av": {"datetime", "acc", "Sender", "Recipient", "Route", "SenderDomain", "IP", "Virus",
           "fileName", "fileExt", "fileMime", "Size", "md5", "sha1", "sha256", "MsgId",
           "Subject", "CustomerIP", "MimecastIP", "SenderDomainInternal"},
    "ttp_url": {"datetime", "acc", "reason", "url", "route", "sourceIp", "sender",
                "senderDomain", "recipient", "urlCategory"},
    "ttp_ap": {"datetime", "acc", "fileName", "sha256", "Size", "IP", "Recipient",
               "SenderDomain", "fileExt", "fileMime", "Sender", "Route", "sha1", "md5"},
    "ttp_ip": {"datetime", "aCode", "acc", "Subject", "MsgId", "Sender", "Recipient", "Route",
               "Action", "Definition", "Hits", "IP", "TaggedExternal", "TaggedMalicious",
               "NewDomain", "InternalName", "ReplyMismatch", "ThreatDictionary",
               "SimilarInternalDomain", "CustomThreatDictionary", "CustomName",
               "SimilarCustomExternalDomain", "SimilarMimecastExternalDomain"},
}  # fmt: skip


# -- the parser ------------------------------------------------------------------------------------


def parse_key_value(text: str) -> list[dict[str, str]]:
    records = []
    for line in re.split(r"[\r\n]+", text):
        if not line:
            continue
        record: dict[str, str] = {}
        for pair in line.split("|"):
            key, _, value = pair.partition("=")
            record[key] = value
        records.append(record)
    return records


def parse_file(name: str, content: bytes) -> tuple[str, list[dict[str, Any]]]:
    """The log type (from the name) and the records of one downloaded file."""
    match = NAME.fullmatch(name)
    assert match, f"not a SIEM file name: {name}"
    log_type, _, ext = match.groups()
    if ext == "zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            (member,) = archive.namelist()
            assert NAME.fullmatch(member) and member.rsplit(".", 1)[0] == name.rsplit(".", 1)[0]
            return parse_file(member, archive.read(member))
    if ext == "json":
        body = json.loads(content)
        assert body["type"] == "MTA"  # integrations read the top-level type
        return log_type, body["data"]
    return log_type, parse_key_value(content.decode())


# -- walking the files -----------------------------------------------------------------------------


def slot_of(name: str) -> int:
    """The 30-minute slot a file covers (its name carries the slot's end)."""
    match = NAME.fullmatch(name)
    assert match
    end = datetime.strptime(match.group(2)[:14] + "+0000", "%Y%m%d%H%M%S%z").timestamp()
    return int(end // SLOT) - 1


def files(
    http: httpx.Client, emu: Emulator, creds: EmulatorCredentials, item: dict[str, Any]
) -> Iterator[tuple[str, bytes]]:
    """(name, content) of every file, following ``mc-siem-token`` to ``isLastToken``."""
    token = None
    while True:
        body = json.dumps({"data": [{**item, **({"token": token} if token else {})}]}).encode()
        response = post(http, emu, creds, PATH, body)
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("application/json"):
            assert response.json()["meta"]["isLastToken"] is True
            return
        disposition = response.headers["content-disposition"]
        match = re.fullmatch(r'attachment; filename="([^"]+)"', disposition)
        assert match, disposition
        yield match.group(1), response.content
        token = response.headers["mc-siem-token"]


Tenant = tuple[Emulator, EmulatorCredentials, httpx.Client]


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    emu, creds = served_tenant(users=100, days=1)
    with served(emu) as http:
        yield emu, creds, http
    emu.close()


@pytest.fixture(scope="module")
def as_json(tenant: Tenant) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Every file of the day in JSON, parsed, by name without extension."""
    emu, creds, http = tenant
    return {
        name.rsplit(".", 1)[0]: parse_file(name, content)
        for name, content in files(http, emu, creds, {"type": "MTA", "fileFormat": "json"})
    }


def check_records(log_type: str, records: list[dict[str, Any]], slot: int) -> None:
    assert records, f"an empty {log_type} file"
    for record in records:
        assert "logType" not in record
        assert set(record) >= FIELDS[log_type], (log_type, FIELDS[log_type] - set(record))
        moment = datetime.strptime(str(record["datetime"]), "%Y-%m-%dT%H:%M:%S%z").timestamp()
        assert slot * SLOT <= moment < (slot + 1) * SLOT
        assert record["acc"] == "CUSA12345"


def test_every_file_of_a_day_parses_with_the_fields_of_its_type(
    as_json: dict[str, tuple[str, list[dict[str, Any]]]],
) -> None:
    names = [f"{stem}.json" for stem in as_json]
    for name in names:
        log_type, records = as_json[name.rsplit(".", 1)[0]]
        check_records(log_type, records, slot_of(name))
    assert {log_type for log_type, _ in as_json.values()} == set(FIELDS)  # every type has files
    # one day back from T0: every half hour has files
    assert {slot_of(n) for n in names} == set(range(int(T0 // SLOT) - 48, int(T0 // SLOT)))
    assert {slot_of(n) for n in names} == set(range(int(T0 // SLOT) - 48, int(T0 // SLOT)))


@pytest.mark.parametrize(("file_format", "compress"), [("key_value", False), ("key_value", True),
                                                       ("json", True)])  # fmt: skip
def test_every_format_holds_the_same_records(
    tenant: Tenant,
    as_json: dict[str, tuple[str, list[dict[str, Any]]]],
    file_format: str,
    compress: bool,
) -> None:
    emu, creds, http = tenant
    item = {"type": "MTA", "fileFormat": file_format, "compress": compress}
    count = 0
    for name, content in files(http, emu, creds, item):
        assert name.endswith(".zip" if compress else ".log" if file_format == "key_value" else "")
        log_type, records = parse_file(name, content)
        check_records(log_type, records, slot_of(name))
        if file_format == "key_value" and not compress:
            text = content.decode()
            assert "\n" not in text  # records are separated by CR, as in real files
            lines = text.split("\r")
            assert all(line.startswith("datetime=") for line in lines), name
            assert all(line.count("|") + 1 == len(parse_key_value(line)[0]) for line in lines)
        expected_type, expected = as_json[name.rsplit(".", 1)[0]]
        assert log_type == expected_type
        # key_value carries every value as text, JSON keeps numbers and booleans
        as_text = [{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in r.items()}
                   for r in expected]  # fmt: skip
        if file_format == "json":
            assert records == expected
        else:
            assert [{k: v.replace("\r", " ").replace("\n", " ") for k, v in r.items()}
                    for r in as_text] == records  # fmt: skip
        count += 1
    assert count == len(as_json)
