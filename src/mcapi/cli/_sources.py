"""Which credentials a command uses, and why: the precedence of the AWS tools.

1. an explicit option: ``--profile NAME``;
2. the ``MCAPI_*`` variables, when they give credentials: a binding (``MCAPI_ACCESS_KEY`` or
   ``MCAPI_SECRET_KEY`` set) or an API 2.0 client (``MCAPI_CLIENT_ID`` or ``MCAPI_CLIENT_SECRET``
   set). A set given by half is an error naming what is missing, never a silent fall-back;
3. the saved profile ``MCAPI_PROFILE`` names, else ``default``.

``MCAPI_BASE_URL``, ``MCAPI_APP_ID``, ``MCAPI_APP_KEY``, ``MCAPI_EMAIL`` and ``MCAPI_PASSWORD``
alone choose nothing: they also feed ``mcapi login`` (``MCAPI_BASE_URL`` as its ``--base-url``;
it is also the emulator commands' address), so a user who exported them to log in still calls
with the profile the login saved.
:func:`resolve` returns the credentials with where they came from (``mcapi whoami`` prints it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mcapi.client._credentials import (
    ENV_VARS,
    OAUTH_ENV_VARS,
    AnyCredentials,
    CredentialsError,
    OAuthCredentials,
    credentials_from_env,
    default_profile_path,
    load_profile,
    profile_names,
)

__all__ = ["CREDENTIAL_VARS", "PROFILE_VAR", "Resolved", "resolve"]

PROFILE_VAR = "MCAPI_PROFILE"
#: The variables whose presence means "call with the MCAPI_* variables".
_BINDING_VARS = ("MCAPI_ACCESS_KEY", "MCAPI_SECRET_KEY")
_CLIENT_VARS = ("MCAPI_CLIENT_ID", "MCAPI_CLIENT_SECRET")
_REQUIRED_1_0 = ("base_url", "app_id", "app_key", "access_key", "secret_key")
#: Every variable that can be part of a set of credentials.
CREDENTIAL_VARS: tuple[str, ...] = tuple(
    dict.fromkeys([*ENV_VARS.values(), *OAUTH_ENV_VARS.values()])
)

Source = Literal["option", "env", "profile"]


@dataclass(frozen=True, slots=True)
class Resolved:
    """Credentials and where they came from.

    Attributes:
        source: ``option`` (``--profile``), ``env`` (the ``MCAPI_*`` variables) or ``profile``
            (the one ``MCAPI_PROFILE`` names, else ``default``).
        profile: the profile's name (``None`` for ``env``); path: the profile file.
        chosen_by: how the profile was chosen: ``--profile``, ``MCAPI_PROFILE`` or ``default``.
        unused: ``MCAPI_*`` credential variables that are set but take no part.
    """

    credentials: AnyCredentials
    source: Source
    profile: str | None
    path: Path | None
    chosen_by: str | None
    unused: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``"1.0"`` (a binding) or ``"2.0"`` (an OAuth client)."""
        return "2.0" if isinstance(self.credentials, OAuthCredentials) else "1.0"

    @property
    def can_renew(self) -> bool:
        return self.credentials.can_renew

    def describe(self) -> str:
        """``the MCAPI_* variables``, ``profile 'work' (--profile)``..."""
        if self.source == "env":
            return "the MCAPI_* variables"
        how = {"--profile": "--profile", PROFILE_VAR: PROFILE_VAR}.get(self.chosen_by or "")
        return f"profile {self.profile!r}" + (f" ({how})" if how else "")


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def env_gives_credentials(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the variables give credentials of their own (a binding or an API 2.0 client)."""
    env = os.environ if environ is None else environ
    return any(_set(env, v) for v in (*_BINDING_VARS, *_CLIENT_VARS))


def _from_env(env: Mapping[str, str]) -> AnyCredentials:
    """The variables' credentials; a set given by half names every missing variable."""
    if any(_set(env, v) for v in _CLIENT_VARS):
        return credentials_from_env(env)  # names the other of the pair
    missing = [ENV_VARS[n] for n in _REQUIRED_1_0 if not _set(env, ENV_VARS[n])]
    if missing:
        given = [v for v in _BINDING_VARS if _set(env, v)]
        raise CredentialsError(
            f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not: export "
            f"{'it' if len(missing) == 1 else 'them'} too, or unset {', '.join(given)} to use "
            "a saved profile (`mcapi login` saves one)"
        )
    return credentials_from_env(env)


def resolve(
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Resolved:
    """The credentials a call would use (see the module's docstring);
    :class:`CredentialsError` says what to set when there are none or a set is incomplete."""
    env = os.environ if environ is None else environ
    file = path if path is not None else default_profile_path()
    set_vars = tuple(v for v in CREDENTIAL_VARS if _set(env, v))
    if profile is not None:
        return Resolved(load_profile(profile, file), "option", profile, file, "--profile", set_vars)
    if env_gives_credentials(env):
        credentials = _from_env(env)
        used = OAUTH_ENV_VARS if isinstance(credentials, OAuthCredentials) else ENV_VARS
        unused = tuple(v for v in set_vars if v not in used.values())
        return Resolved(credentials, "env", None, None, None, unused)
    chosen = env.get(PROFILE_VAR, "").strip()
    if chosen:
        try:
            loaded = load_profile(chosen, file)
        except CredentialsError as exc:
            raise CredentialsError(f"{PROFILE_VAR}={chosen}: {exc}") from exc
        return Resolved(loaded, "profile", chosen, file, PROFILE_VAR, set_vars)
    names = profile_names(file)
    if "default" not in names:
        raise CredentialsError(_none_message(file, set_vars, names))
    loaded = load_profile("default", file)
    return Resolved(loaded, "profile", "default", file, "default", set_vars)


def _none_message(file: Path, set_vars: tuple[str, ...], names: list[str]) -> str:
    needed = [ENV_VARS[n] for n in _REQUIRED_1_0 if ENV_VARS[n] not in set_vars]
    have = f" ({', '.join(set_vars)} set)" if set_vars else ""
    if names:
        saved = (
            f"no profile 'default' in {file} (it has {', '.join(names)}: choose one with "
            f"--profile NAME or {PROFILE_VAR}=NAME)"
        )
    else:
        saved = f"no saved profile in {file}"
    return (
        f"no credentials: {saved} and no binding in the MCAPI_* variables{have}; run `mcapi "
        f"login` (it saves a profile), or export {', '.join(needed)} (API 2.0: MCAPI_CLIENT_ID "
        "and MCAPI_CLIENT_SECRET)"
    )
