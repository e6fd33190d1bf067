"""The store's exceptions: few classes, each meaning one thing a caller answers differently."""

from __future__ import annotations

from mcapi.emulator._validation import InvalidInput

__all__ = ["AlreadyExists", "BindingLimitReached", "RowNotFound", "SeedError", "StoreError"]


class StoreError(Exception):
    """Base class of the store's own errors."""


class RowNotFound(StoreError, LookupError):
    """The row an operation names does not exist (or, for a binding refresh, is not usable)."""


class AlreadyExists(StoreError):
    """A unique value (account code, domain, e-mail address, application id) is taken."""


class BindingLimitReached(StoreError):
    """The user already holds the account's maximum number of live bindings (403 0012)."""

    def __init__(self, user_id: int, limit: int) -> None:
        super().__init__(f"user {user_id} already has {limit} bindings, the account's maximum")
        self.user_id = user_id
        self.limit = limit


class SeedError(StoreError, InvalidInput):
    """A seed file or document is invalid, or conflicts with the database: an ``InvalidInput``
    whose problems name the file or the path of each offending value
    (``accounts[0].users[2].email``); a document's validation reports all of them at once."""
