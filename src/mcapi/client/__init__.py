"""The mcapi client: signs every attempt, classifies every response, recovers only where safe.

::

    from mcapi.client import Client, FunctionFailed

    with Client.from_env() as client:
        result = client.call("/api/account/get-account")
        print(result.data, result.failures)

``Client`` (threads) and ``AsyncClient`` (asyncio) share one sans-I/O core, so their behaviour
cannot drift. Every error the client raises is importable from here as well as from ``mcapi``.
See docs/client.md for the guide.
"""

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
from mcapi.client._async_client import AsyncClient
from mcapi.client._client import Client
from mcapi.client._credentials import Credentials, CredentialsError, OAuthCredentials
from mcapi.client._functions import is_read_only
from mcapi.client._limiter import Pacer
from mcapi.client._paginate import RECORD_FIELDS
from mcapi.client._result import AttemptEvent, ItemError, ItemFailure, RateLimit, Result
from mcapi.client._retry import RetryBudget, RetryPolicy
from mcapi.client._stream import Downloaded, FileStream

__all__ = [
    "RECORD_FIELDS",
    "ApiError",
    "AsyncClient",
    "AttemptEvent",
    "BadRequest",
    "BindingExpired",
    "Client",
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
    "QuotaExceeded",
    "RateLimit",
    "RemoteProtocolError",
    "Result",
    "RetryBudget",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "is_read_only",
]
