"""Advice in the command line's terms: what to run or check, instead of what to pass in Python.

The advice is data (``mcapi/cli_advice.toml``, beside the catalogue), keyed by the catalogue's
codes and by the situations that have none (no usable answer, an answer that is not the API's, a
local mistake). :func:`advice_for` picks the entry for an error and fills it in from the
:class:`Context`: where the credentials came from (so "log in again" names ``mcapi login
--profile work`` or the variables to unset), the URL called, and the permission a 403 0002 names.
An entry keyed by a status alone (``"403"``) names only answers without a sub code the catalogue
knows; an error no entry names keeps the catalogue's remedy.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from mcapi._codes import missing_permission
from mcapi._errors import (
    LocalProtocolError,
    MimecastError,
    RemoteProtocolError,
    TransportError,
)
from mcapi.cli._sources import Resolved
from mcapi.client._credentials import CredentialsError

__all__ = ["Advice", "Context", "advice_for", "advice_table", "error_document", "error_line"]

_WHEN = frozenset({"changes-state", "reads", "api-1.0", "api-2.0"})


@dataclass(frozen=True, slots=True)
class Advice:
    codes: tuple[str, ...]
    text: str
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What the command knows when an error reaches it.

    Attributes:
        credentials: the credentials it used and where they came from (``None`` for ``login``).
        base_url: where it called (the credentials' base URL, or the URL ``login`` used).
        read_only: whether the function only reads (``None``: not known).
        origin: where ``base_url`` came from, when no credentials say (``login``'s options).
    """

    credentials: Resolved | None = None
    base_url: str | None = None
    read_only: bool | None = None
    origin: str | None = None


@cache
def advice_table() -> tuple[Advice, ...]:
    """The advice entries, loaded once; entries with ``when`` first (they are narrower)."""
    text = resources.files("mcapi").joinpath("cli_advice.toml").read_text(encoding="utf-8")
    entries = []
    for raw in tomllib.loads(text)["advice"]:
        when = raw.get("when")
        if when is not None and when not in _WHEN:
            raise ValueError(f"cli_advice.toml: unknown when {when!r}")
        entries.append(Advice(tuple(raw["codes"]), str(raw["text"]), when))
    return tuple(sorted(entries, key=lambda a: a.when is None))


def _candidates(error: MimecastError) -> list[str]:
    """The codes that name ``error``, most specific first."""
    if isinstance(error, TransportError):
        return ["transport"]
    if isinstance(error, RemoteProtocolError):
        return ["protocol"]
    if isinstance(error, CredentialsError):
        return ["credentials"]  # its message says what is missing or wrong
    if isinstance(error, LocalProtocolError):
        return ["local"]
    if error.entry is None or error.status is None:
        return []
    found = []
    if error.sub_code:
        found.append(f"{error.status} {error.sub_code}")
    found += [*error.body_codes, *([error.entry.body_code] if error.entry.body_code else [])]
    if error.entry.sub_code is None:
        # The status alone names only an answer without a sub code the catalogue knows: a sub
        # code has its own meaning (403 0016 is not a missing permission), and an entry that
        # does not name it leaves the catalogue's remedy.
        found.append(str(error.status))
    return list(dict.fromkeys(found))


def _applies(advice: Advice, context: Context) -> bool:
    kind = context.credentials.kind if context.credentials is not None else None
    return {
        None: True,
        "changes-state": context.read_only is False,
        "reads": context.read_only is True,
        "api-1.0": kind == "1.0",
        "api-2.0": kind == "2.0",
    }[advice.when]


def _values(error: MimecastError, context: Context) -> dict[str, str]:
    found = context.credentials
    base_url = context.base_url or (found.credentials.base_url if found else None) or "the server"
    path = error.endpoint or "the function"
    values = {
        "base_url": base_url,
        "path": path,
        "url": f"{base_url}{error.endpoint or ''}",
        "permission": missing_permission(error.messages) or "the function's permission",
        "login": "`mcapi login`",
        "keys": "the access and secret keys",
        "client": "the client id and secret",
        "source": f"it came from {context.origin}" if context.origin else "`mcapi whoami` shows it",
        "who": "The user",
    }
    if found is None:
        return values
    values["source"] = f"it comes from {found.describe()}; `mcapi whoami` shows it"
    email = getattr(found.credentials, "email", None)
    if found.kind == "2.0":
        values["who"] = "The API 2.0 application"
    elif email:
        values["who"] = f"The user {email}"
    if found.source == "env":
        values["keys"] = "MCAPI_ACCESS_KEY and MCAPI_SECRET_KEY"
        values["client"] = "MCAPI_CLIENT_ID and MCAPI_CLIENT_SECRET"
        values["login"] = (
            "`mcapi login --client-id ID` after unsetting MCAPI_CLIENT_ID and MCAPI_CLIENT_SECRET"
            if found.kind == "2.0"
            else "`mcapi login` after unsetting MCAPI_ACCESS_KEY and MCAPI_SECRET_KEY (exported "
            "keys win over the profile it saves), or export a fresh binding"
        )
        return values
    where = f"profile {found.profile!r} in {found.path}"
    values["keys"] = f"the keys of {where}"
    values["client"] = f"the client id and secret of {where}"
    option = "" if found.profile == "default" else f" --profile {found.profile}"
    client = " --client-id ID" if found.kind == "2.0" else ""
    values["login"] = f"`mcapi login{client}{option}`"
    return values


def advice_for(error: MimecastError, context: Context | None = None) -> str | None:
    """The command line's advice for ``error``, or ``None`` (then the catalogue's remedy
    stands)."""
    context = context or Context()
    table = advice_table()
    for code in _candidates(error):
        for advice in table:
            if code in advice.codes and _applies(advice, context):
                return advice.text.format_map(_values(error, context))
    return None


def error_line(error: MimecastError, context: Context | None = None) -> str:
    """The one line ``mcapi`` prints on stderr: the message, where, and the advice (else the
    catalogue's remedy)."""
    return error.describe(advice_for(error, context))


def error_document(error: MimecastError, context: Context | None = None) -> dict[str, Any]:
    """The ``{"error": {...}}`` the CLI prints: every field of the error, the message without
    the library's hint, and ``advice`` (the command line's, else the catalogue's remedy)."""
    document: dict[str, Any] = error.to_dict()
    document["message"] = error.summary
    said = advice_for(error, context)
    document["advice"] = said if said is not None else error.remedy
    return {"error": document}
