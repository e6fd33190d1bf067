"""mcapi: the Mimecast API toolkit (API 1.0 and 2.0).

The client and everything it raises, and the response-code catalogue both halves share::

    from mcapi import Client, lookup

    with Client.from_env() as client:
        result = client.call("/api/account/get-account")

The emulator lives in :mod:`mcapi.emulator` (``Emulator``) and its pytest fixtures in
:mod:`mcapi.testing`; both are imported only when asked for. The client (and httpx with it) is
imported on first use of one of its names, so that ``import mcapi`` (which pytest does for the
plugin in every project that installs mcapi) stays light.
"""

from typing import TYPE_CHECKING, Any

from mcapi._codes import Action, Catalogue, CodeEntry, Provenance, catalogue, lookup
from mcapi._errors import (
    ApiError,
    BadRequest,
    BindingExpired,
    Conflict,
    Forbidden,
    FunctionFailed,
    LocalProtocolError,
    MimecastError,
    NotFound,
    ProtocolError,
    QuotaExceeded,
    RemoteProtocolError,
    ServerError,
    TransportError,
    Unauthorized,
)

if TYPE_CHECKING:
    from mcapi.client import (
        RECORD_FIELDS,
        AsyncClient,
        AttemptEvent,
        Client,
        Credentials,
        CredentialsError,
        Downloaded,
        FileStream,
        ItemError,
        ItemFailure,
        OAuthCredentials,
        Pacer,
        RateLimit,
        Result,
        RetryBudget,
        RetryPolicy,
        is_read_only,
    )

_CLIENT_NAMES = frozenset(
    {
        "AsyncClient", "AttemptEvent", "Client", "Credentials", "CredentialsError", "Downloaded",
        "FileStream", "ItemError", "ItemFailure", "OAuthCredentials", "Pacer", "RateLimit",
        "Result", "RetryBudget", "RetryPolicy", "is_read_only", "RECORD_FIELDS",
    }
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from mcapi import client

        return getattr(client, name)
    raise AttributeError(f"module 'mcapi' has no attribute {name!r}")


__all__ = [
    "RECORD_FIELDS",
    "Action",
    "ApiError",
    "AsyncClient",
    "AttemptEvent",
    "BadRequest",
    "BindingExpired",
    "Catalogue",
    "Client",
    "CodeEntry",
    "Conflict",
    "Credentials",
    "CredentialsError",
    "Downloaded",
    "FileStream",
    "Forbidden",
    "FunctionFailed",
    "ItemError",
    "ItemFailure",
    "LocalProtocolError",
    "MimecastError",
    "NotFound",
    "OAuthCredentials",
    "Pacer",
    "ProtocolError",
    "Provenance",
    "QuotaExceeded",
    "RateLimit",
    "RemoteProtocolError",
    "Result",
    "RetryBudget",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "catalogue",
    "is_read_only",
    "lookup",
]
