from __future__ import annotations

import pytest

from mcapi._errors import (
    BadRequest,
    BindingExpired,
    Conflict,
    Forbidden,
    MimecastError,
    NotFound,
    QuotaExceeded,
    ServerError,
    Unauthorized,
    api_error,
)


@pytest.mark.parametrize(
    ("status", "klass"),
    [(400, BadRequest), (405, BadRequest), (401, Unauthorized), (403, Forbidden),
     (404, NotFound), (409, Conflict), (418, BindingExpired), (429, QuotaExceeded),
     (500, ServerError), (503, ServerError), (422, BadRequest)],
)  # fmt: skip
def test_status_maps_to_class(status: int, klass: type[MimecastError]) -> None:
    assert type(api_error(status)) is klass


def test_error_carries_everything() -> None:
    error = api_error(
        401, sub_code="0004", body_codes=("err_xdk_invalid_signature",),
        messages=("0004 Invalid Signature",), endpoint="/api/account/get-account",
        request_id="RID", attempts=1,
    )  # fmt: skip
    assert error.entry is not None and error.entry.label == "401 0004"
    assert (error.status, error.sub_code, error.request_id, error.attempts) == (
        401,
        "0004",
        "RID",
        1,
    )
    text = str(error)
    for part in ("401 0004", "Invalid Signature", "/api/account/get-account", "RID", "HMAC"):
        assert part in text
    assert error.to_dict()["entry"]["action"] == "stop"


def test_quota_exceeded_reset() -> None:
    error = api_error(429, sub_code="0008", headers={"x-ratelimit-reset": "1500"})
    assert isinstance(error, QuotaExceeded)
    assert error.reset_ms == 1500
    assert error.retryable


def test_unknown_message_is_kept() -> None:
    error = api_error(500, messages=("something odd",))
    assert "something odd" in str(error)


def test_only_local_protocol_errors_are_value_errors() -> None:
    # An `except ValueError` around a call catches the caller's own mistakes, never a server that
    # broke the protocol.
    from mcapi import LocalProtocolError, ProtocolError, RemoteProtocolError
    from mcapi.client import CredentialsError

    assert issubclass(LocalProtocolError, ProtocolError) and issubclass(
        LocalProtocolError, ValueError
    )
    assert issubclass(CredentialsError, LocalProtocolError)
    assert issubclass(RemoteProtocolError, ProtocolError)
    assert not issubclass(RemoteProtocolError, ValueError)
    assert not issubclass(ProtocolError, ValueError)


def test_the_cli_tells_local_from_remote_protocol_errors() -> None:
    from mcapi import LocalProtocolError, RemoteProtocolError
    from mcapi.cli._client_cmd import EXIT_CODES, exit_code_for

    names = {code: name for code, name, _ in EXIT_CODES}
    assert names[exit_code_for(LocalProtocolError("the secret key is not valid base64"))] == "local"
    remote = RemoteProtocolError("login answered without accessKey and secretKey")
    assert names[exit_code_for(remote)] == "server"
