"""mcapi: the Mimecast API 1.0 toolkit.

The client and everything it raises, and the response-code catalogue both halves share::

    from mcapi import Client, lookup

    with Client.from_env() as client:
        result = client.call("/api/account/get-account")

The emulator lives in :mod:`mcapi.emulator` (``Emulator``) and its pytest fixtures in
:mod:`mcapi.testing`; both are imported only when asked for.
"""

from mcapi._codes import Action, Catalogue, CodeEntry, Provenance, catalogue, lookup
from mcapi._errors import (
    ApiError,
    BadRequest,
    BindingExpired,
    Conflict,
    Forbidden,
    FunctionFailed,
    MimecastError,
    NotFound,
    ProtocolError,
    QuotaExceeded,
    ServerError,
    TransportError,
    Unauthorized,
)
from mcapi.client import (
    AsyncClient,
    AttemptEvent,
    Client,
    Credentials,
    CredentialsError,
    Downloaded,
    FileStream,
    ItemError,
    ItemFailure,
    RateLimit,
    Result,
    RetryBudget,
    RetryPolicy,
)

__all__ = [
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
    "MimecastError",
    "NotFound",
    "ProtocolError",
    "Provenance",
    "QuotaExceeded",
    "RateLimit",
    "Result",
    "RetryBudget",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "catalogue",
    "lookup",
]
