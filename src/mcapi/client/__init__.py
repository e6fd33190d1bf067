"""The mcapi client: signs every attempt, classifies every response, recovers only where safe.

::

    from mcapi.client import Client

    with Client.from_env() as client:
        result = client.call("/api/account/get-account")
        print(result.data, result.failures)

``Client`` (threads) and ``AsyncClient`` (asyncio) share one sans-I/O core (``_core.py``), so
their behaviour cannot drift. See docs/client.md for the guide.
"""

from mcapi.client._async_client import AsyncClient
from mcapi.client._client import Client
from mcapi.client._credentials import Credentials, CredentialsError
from mcapi.client._limiter import Pacer
from mcapi.client._result import AttemptEvent, ItemError, ItemFailure, RateLimit, Result
from mcapi.client._retry import READ_ONLY_MARKERS, RetryBudget, RetryPolicy, is_read_only
from mcapi.client._stream import Downloaded, FileStream

__all__ = [
    "READ_ONLY_MARKERS",
    "AsyncClient",
    "AttemptEvent",
    "Client",
    "Credentials",
    "CredentialsError",
    "Downloaded",
    "FileStream",
    "ItemError",
    "ItemFailure",
    "Pacer",
    "RateLimit",
    "Result",
    "RetryBudget",
    "RetryPolicy",
    "is_read_only",
]
