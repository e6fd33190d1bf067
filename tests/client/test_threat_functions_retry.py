"""The client's read-only classification of the remediation and threat-feed functions: a transient
500 is retried for the functions that only read, and raised at once for the one that writes (the
journal shows what reached the emulator).

The write is failed with a plain ``500`` (``err_internal``): the catalogue marks ``500 0006``
``retryable``, and the client repeats a write after an answer the platform calls retryable, so
0006 cannot tell a read from a write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mcapi._errors import ServerError

from .conftest import Harness

pytestmark = pytest.mark.anyio

READS = {
    "/api/ttp/remediation/get-incident": [{"id": "eNoNoSuchIncident"}],
    "/api/ttp/remediation/search-hash": [{"hashes": ["a" * 64]}],
    "/api/ttp/threat-intel/get-feed": [{"feedType": "malware_grid"}],
}
CREATE = "/api/ttp/remediation/create"


def _transient_once(harness: Harness, path: str, sub_code: str | None) -> None:
    effect: dict[str, object] = {"status": 500}
    if sub_code:
        effect["sub_code"] = sub_code
    harness.fault({"match": {"path": path, "times": 1}, "effect": effect})


@pytest.mark.parametrize("sub_code", ["0006", None])
@pytest.mark.parametrize("path", sorted(READS))
async def test_reads_are_retried(
    harness: Harness, path: str, sub_code: str | None, tmp_path: Path
) -> None:
    harness.generate()
    _transient_once(harness, path, sub_code)
    client = harness.client()
    if path.endswith("get-feed"):
        downloaded = await client.download(path, READS[path], tmp_path)
        assert downloaded.attempts == 2 and downloaded.size > 0 and downloaded.target is not None
        assert downloaded.filename is not None
        assert downloaded.filename.startswith("malware_grid_csv_")
    else:
        result = await client.call(path, READS[path])
        assert result.attempts == 2
    statuses = [(e.status, e.sub_code) for e in harness.journal(path)]
    assert statuses == [(500, sub_code), (200, None)]


async def test_create_is_not_retried(harness: Harness) -> None:
    _transient_once(harness, CREATE, None)
    client = harness.client()
    with pytest.raises(ServerError):
        await client.call(CREATE, [{"reason": "r", "hashOrMessageId": "a" * 64}])
    assert [(e.status, e.sub_code) for e in harness.journal(CREATE)] == [(500, None)]
