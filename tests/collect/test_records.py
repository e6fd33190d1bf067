"""The SIEM file parser reads today's emulator files and the platform's real shapes; ids."""

from __future__ import annotations

import io
import zipfile

import pytest

from mcapi.collect import BadFile, parse_siem_file
from mcapi.collect._records import content_ids, parse_time


def test_real_key_value_file_one_log_type_cr_separated() -> None:
    body = (
        b"datetime=2019-11-25T13:45:32+0200|aCode=abc|acc=C1|Sender=a@x.example|IP=1.2.3.4\r"
        b"datetime=2019-11-25T13:45:33+0200|aCode=def|acc=C1|Sender=b@x.example|IP=1.2.3.5\r\n"
    )
    records = parse_siem_file(body, filename="receipt_20191125134532478.log", token="T1")
    assert [r.record["aCode"] for r in records] == ["abc", "def"]
    assert records[0].source["log_type"] == "receipt"
    assert records[0].id == "siem:receipt_20191125134532478.log:0"
    assert records[1].time == parse_time("2019-11-25T11:45:33+0000")


def test_key_value_value_holding_a_pipe_is_kept_whole() -> None:
    body = b"datetime=2019-11-25T13:45:32+0000|Subject=a|b|Act=Acc\n"
    (record,) = parse_siem_file(body, filename="process_1.log", token=None)
    assert record.record == {"datetime": "2019-11-25T13:45:32+0000", "Subject": "a|b", "Act": "Acc"}


def test_real_json_file_type_kept_in_source() -> None:
    body = b'{"type": "MTA", "data": [{"datetime": "2026-01-01T00:00:00+0000", "aCode": "x"}]}'
    (record,) = parse_siem_file(body, filename="MTA_1.json", token="T")
    assert record.source["type"] == "MTA"
    assert record.record["aCode"] == "x"


def test_emulator_json_and_zip() -> None:
    inner = b'{"data":[{"logType":"receipt","datetime":"2026-01-01T00:00:00+0000"},{"a":1}]}'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("MTA_202601010000.json", inner)
    records = parse_siem_file(buffer.getvalue(), filename="MTA_202601010000.zip", token="T")
    assert [r.id for r in records] == [
        "siem:MTA_202601010000.zip:0",
        "siem:MTA_202601010000.zip:1",
    ]
    assert records[0].source["member"] == "MTA_202601010000.json"


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"a": 1}, {"b"',  # JSON cut short
        b"PK\x03\x04 not really a zip",
        b"<html>proxy error</html>",
        b"\xff\xfe not text",
    ],
)
def test_bad_files_raise(body: bytes) -> None:
    with pytest.raises(BadFile):
        parse_siem_file(body, filename="MTA_1.json", token="T")


def test_content_ids_count_identical_records() -> None:
    rows = [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 2}]
    ids = list(content_ids("ttp-url", rows))
    assert ids[0].endswith("-0") and ids[1].endswith("-1")
    assert ids[0][:-2] == ids[1][:-2] != ids[2][:-2]
