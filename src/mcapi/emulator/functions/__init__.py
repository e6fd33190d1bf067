"""The emulated API functions: one module per namespace, one table of :class:`FunctionSpec` rows.

``FUNCTIONS`` is the table; :func:`function_table` indexes it by path for the request pipeline.
Importing this package also registers the functions' tables (``mcapi.emulator._data``) on the
store's shared metadata, so ``Store.create_all`` creates them.
"""

from __future__ import annotations

from mcapi.emulator.functions import (
    account,
    archive,
    archive_search,
    audit,
    directory,
    directory_groups,
    domain,
    email,
    gateway,
    gateway_processing,
    login,
    managedsender,
    message_finder,
    message_info,
    policy,
    remediation,
    threat_intel,
    ttp,
    ttp_protect,
    user,
)
from mcapi.emulator.functions._registry import FunctionSpec

__all__ = ["FUNCTIONS", "function_table"]

FUNCTIONS: tuple[FunctionSpec, ...] = (
    *login.SPECS,
    *account.SPECS,
    *audit.SPECS,
    *ttp.SPECS,
    *managedsender.SPECS,
    *message_finder.SPECS,
    *message_info.SPECS,
    *gateway.SPECS,
    *archive.SPECS,
    *domain.SPECS,
    *directory.SPECS,
    *directory_groups.SPECS,
    *user.SPECS,
    *gateway_processing.SPECS,
    *email.SPECS,
    *archive_search.SPECS,
    *policy.SPECS,
    *remediation.SPECS,
    *threat_intel.SPECS,
    *ttp_protect.SPECS,
)


def function_table() -> dict[str, FunctionSpec]:
    """The functions by path (a fresh dict: callers may add their own rows)."""
    table: dict[str, FunctionSpec] = {}
    for spec in FUNCTIONS:
        if spec.path in table:
            raise ValueError(f"two functions at {spec.path}")
        table[spec.path] = spec
    return table
