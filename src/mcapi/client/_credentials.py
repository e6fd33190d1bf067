"""Where a client's credentials come from: arguments, ``MCAPI_*`` variables, or a profile file.

Theory of operation
-------------------
A signed call needs five values: the region's base URL, the application's id and key, and the
binding's access and secret keys. :class:`Credentials` holds them, plus (optionally) the user's
email, password and auth type, which let the client refresh an expired binding (418) or log in
again after a revoked one (401 0012) without the caller's help. Secrets never show in ``repr``.

API 2.0 needs three: the base URL, the client id and the client secret (:class:`OAuthCredentials`);
the client exchanges them for a Bearer token by itself. :func:`credentials_from_env` picks the
API 2.0 set when ``MCAPI_CLIENT_ID`` and ``MCAPI_CLIENT_SECRET`` are given (the 1.0 variables
then take no part), and refuses a set given by half.

The profile file (``$MCAPI_CONFIG``, else ``~/.config/mcapi/profiles.toml``) holds one TOML table
per profile under ``[profiles.<name>]``. It is written atomically (a temporary file in the same
directory, flushed, then renamed over the old one) with mode 0600, because it holds the secret
key. Passwords are never written to it.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from mcapi._constants import DEFAULT_OAUTH_BASE_URL
from mcapi._errors import LocalProtocolError

__all__ = [
    "ENV_VARS",
    "OAUTH_ENV_VARS",
    "AnyCredentials",
    "Credentials",
    "CredentialsError",
    "OAuthCredentials",
    "credentials_from_env",
    "default_profile_path",
    "load_profile",
    "profile_names",
    "save_profile",
]

log = logging.getLogger("mcapi.client")

#: Credentials field -> environment variable. The first five are required by ``from_env``.
ENV_VARS: Mapping[str, str] = {
    "base_url": "MCAPI_BASE_URL",
    "app_id": "MCAPI_APP_ID",
    "app_key": "MCAPI_APP_KEY",
    "access_key": "MCAPI_ACCESS_KEY",
    "secret_key": "MCAPI_SECRET_KEY",
    "email": "MCAPI_EMAIL",
    "password": "MCAPI_PASSWORD",
    "auth_type": "MCAPI_AUTH_TYPE",
}
#: OAuthCredentials field -> environment variable (API 2.0); all three are required.
OAUTH_ENV_VARS: Mapping[str, str] = {
    "base_url": "MCAPI_BASE_URL",
    "client_id": "MCAPI_CLIENT_ID",
    "client_secret": "MCAPI_CLIENT_SECRET",
}
_REQUIRED = ("base_url", "app_id", "app_key", "access_key", "secret_key")
_PROFILE_FIELDS = (*_REQUIRED, "email", "auth_type", "expires_at")


class CredentialsError(LocalProtocolError):
    """Credentials are missing or unusable (the message names which and where to set them)."""


def _mask(value: str | None) -> str:
    if not value:
        return "None"
    return f"'{value[:4]}…'" if len(value) >= 8 else "'…'"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything a client needs to sign calls, and optionally to renew its binding.

    Attributes:
        base_url: the region's API base URL, e.g. ``https://eu-api.mimecast.com``.
        app_id, app_key: the registered application's id and key.
        access_key, secret_key: the binding (the user the calls run as).
        email, password, auth_type: the user's login, kept only to refresh or log in again;
            ``auth_type`` is ``"cloud"`` (Basic-Cloud) or ``"domain"`` (Basic-AD).
        expires_at: when the binding lapses (epoch seconds), if login said so.
    """

    base_url: str
    app_id: str
    app_key: str = field(repr=False)
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    email: str | None = None
    password: str | None = field(default=None, repr=False)
    auth_type: str = "cloud"
    expires_at: float | None = None

    def __post_init__(self) -> None:
        missing = [name for name in _REQUIRED if not getattr(self, name)]
        if missing:
            raise CredentialsError(f"credentials lack {', '.join(missing)}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def __repr__(self) -> str:
        return (
            f"Credentials(base_url={self.base_url!r}, app_id={self.app_id!r}, "
            f"access_key={_mask(self.access_key)}, email={self.email!r}, "
            f"auth_type={self.auth_type!r}, password={'set' if self.password else None})"
        )

    @property
    def can_renew(self) -> bool:
        """Whether the client can refresh the binding or log in again by itself."""
        return bool(self.email and self.password)

    def with_binding(
        self, access_key: str, secret_key: str, expires_at: float | None = None
    ) -> Credentials:
        """A copy with a new binding (after login or refresh)."""
        return replace(self, access_key=access_key, secret_key=secret_key, expires_at=expires_at)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``MCAPI_BASE_URL``, ``MCAPI_APP_ID``, ``MCAPI_APP_KEY``, ``MCAPI_ACCESS_KEY`` and
        ``MCAPI_SECRET_KEY`` (required) and ``MCAPI_EMAIL``, ``MCAPI_PASSWORD``,
        ``MCAPI_AUTH_TYPE`` (optional, for renewing the binding)."""
        env = os.environ if environ is None else environ
        values = {name: env.get(var, "").strip() for name, var in ENV_VARS.items()}
        missing = [ENV_VARS[name] for name in _REQUIRED if not values[name]]
        if missing:
            raise CredentialsError(
                f"set {', '.join(missing)} (or run `mcapi login` and use a profile)"
            )
        return cls(
            base_url=values["base_url"],
            app_id=values["app_id"],
            app_key=values["app_key"],
            access_key=values["access_key"],
            secret_key=values["secret_key"],
            email=values["email"] or None,
            password=env.get(ENV_VARS["password"]) or None,
            auth_type=values["auth_type"] or "cloud",
        )

    @classmethod
    def from_profile(cls, name: str = "default", path: str | Path | None = None) -> Credentials:
        """Read API 1.0 profile ``name`` from the profile file (see
        :func:`default_profile_path`); :func:`load_profile` reads either kind."""
        loaded = load_profile(name, path)
        if not isinstance(loaded, Credentials):
            raise CredentialsError(f"profile {name!r} holds API 2.0 credentials (client_id)")
        return loaded

    def to_profile(self) -> dict[str, Any]:
        """The fields written to a profile (never the password)."""
        out: dict[str, Any] = {}
        for name in _PROFILE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class OAuthCredentials:
    """API 2.0: an application's client id and secret, exchanged for Bearer tokens.

    Attributes:
        base_url: the API 2.0 gateway, e.g. ``https://api.services.mimecast.com`` (the default)
            or a regional one; the token endpoint is ``{base_url}/oauth/token``.
        client_id, client_secret: the application's, as the console showed them once.
    """

    client_id: str
    client_secret: str = field(repr=False)
    base_url: str = DEFAULT_OAUTH_BASE_URL

    def __post_init__(self) -> None:
        missing = [n for n in ("base_url", "client_id", "client_secret") if not getattr(self, n)]
        if missing:
            raise CredentialsError(f"OAuth credentials lack {', '.join(missing)}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def __repr__(self) -> str:
        return f"OAuthCredentials(base_url={self.base_url!r}, client_id={self.client_id!r})"

    @property
    def can_renew(self) -> bool:
        """A token is always renewed by the client itself; there is no binding to renew."""
        return False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OAuthCredentials:
        """Read ``MCAPI_CLIENT_ID`` and ``MCAPI_CLIENT_SECRET`` (required) and
        ``MCAPI_BASE_URL`` (default: the global gateway)."""
        env = os.environ if environ is None else environ
        values = {name: env.get(var, "").strip() for name, var in OAUTH_ENV_VARS.items()}
        missing = [OAUTH_ENV_VARS[n] for n in ("client_id", "client_secret") if not values[n]]
        if missing:
            raise CredentialsError(f"set {', '.join(missing)} for API 2.0")
        return cls(
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            base_url=values["base_url"] or DEFAULT_OAUTH_BASE_URL,
        )

    def to_profile(self) -> dict[str, Any]:
        """The fields written to a profile (the file is 0600, as for a 1.0 secret key)."""
        return {
            "base_url": self.base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }


#: Either kind of credentials a client accepts.
AnyCredentials = Credentials | OAuthCredentials


def credentials_from_env(environ: Mapping[str, str] | None = None) -> AnyCredentials:
    """API 2.0 credentials when ``MCAPI_CLIENT_ID`` or ``MCAPI_CLIENT_SECRET`` is set (the 1.0
    variables then take no part; both must be set), else the 1.0 ones
    (:meth:`Credentials.from_env`)."""
    env = os.environ if environ is None else environ
    given = [v for v in ("MCAPI_CLIENT_ID", "MCAPI_CLIENT_SECRET") if env.get(v, "").strip()]
    if len(given) == 1:
        other = ({"MCAPI_CLIENT_ID", "MCAPI_CLIENT_SECRET"} - set(given)).pop()
        raise CredentialsError(
            f"{given[0]} is set but {other} is not: set both for API 2.0, or neither to use "
            "the API 1.0 variables (MCAPI_APP_ID, MCAPI_APP_KEY, MCAPI_ACCESS_KEY, "
            "MCAPI_SECRET_KEY)"
        )
    if given:
        return OAuthCredentials.from_env(env)
    return Credentials.from_env(env)


def default_profile_path() -> Path:
    """``$MCAPI_CONFIG``, else ``~/.config/mcapi/profiles.toml``."""
    configured = os.environ.get("MCAPI_CONFIG")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "mcapi" / "profiles.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"cannot read the profile file {path}: {exc.strerror}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CredentialsError(f"the profile file {path} is not valid TOML: {exc}") from exc


def profile_names(path: str | Path | None = None) -> list[str]:
    """The names of the profiles in the profile file, in the file's order (none without one)."""
    file = Path(path) if path is not None else default_profile_path()
    profiles = _read(file).get("profiles", {})
    return list(profiles) if isinstance(profiles, Mapping) else []


def load_profile(name: str = "default", path: str | Path | None = None) -> AnyCredentials:
    """The credentials of profile ``name`` (API 2.0 when it holds a ``client_id``);
    :class:`CredentialsError` says what is missing."""
    file = Path(path) if path is not None else default_profile_path()
    document = _read(file)
    profiles = document.get("profiles", {})
    raw = profiles.get(name) if isinstance(profiles, Mapping) else None
    if not isinstance(raw, Mapping):
        known = ", ".join(sorted(profiles)) if isinstance(profiles, Mapping) else ""
        hint = f" (profiles there: {known})" if known else ""
        raise CredentialsError(
            f"no profile {name!r} in {file}{hint}; run `mcapi login --profile {name}`"
        )
    mode = stat.S_IMODE(file.stat().st_mode)
    if mode & 0o077:
        log.warning("profile file %s is readable by others (mode %o); chmod 600 it", file, mode)
    if raw.get("client_id"):
        lacking = [k for k in ("base_url", "client_secret") if not raw.get(k)]
        if lacking:
            raise CredentialsError(f"profile {name!r} in {file} lacks {', '.join(lacking)}")
        return OAuthCredentials(
            client_id=str(raw["client_id"]),
            client_secret=str(raw["client_secret"]),
            base_url=str(raw["base_url"]),
        )
    missing = [key for key in _REQUIRED if not raw.get(key)]
    if missing:
        raise CredentialsError(f"profile {name!r} in {file} lacks {', '.join(missing)}")
    expires = raw.get("expires_at")
    return Credentials(
        base_url=str(raw["base_url"]),
        app_id=str(raw["app_id"]),
        app_key=str(raw["app_key"]),
        access_key=str(raw["access_key"]),
        secret_key=str(raw["secret_key"]),
        email=str(raw["email"]) if raw.get("email") else None,
        auth_type=str(raw.get("auth_type") or "cloud"),
        expires_at=float(expires) if isinstance(expires, int | float) else None,
    )


def save_profile(name: str, credentials: AnyCredentials, path: str | Path | None = None) -> Path:
    """Write profile ``name`` (other profiles are kept), atomically and with mode 0600.

    Returns the file's path.
    """
    file = Path(path) if path is not None else default_profile_path()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = _read(file)
    profiles = document.setdefault("profiles", {})
    if not isinstance(profiles, dict):
        raise CredentialsError(f"{file}: 'profiles' is not a table")
    profiles[name] = credentials.to_profile()
    payload = tomli_w.dumps(document).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return file
