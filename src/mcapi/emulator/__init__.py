"""The Mimecast API 1.0 emulator: ``Emulator`` holds its state and serves its ASGI app.

Everything a user drives is exported here: the emulator and its credentials, the types behind its
handles (``Emulator.admin``, ``.clock``, ``.faults``, ``.journal``), the rules they take and the
errors they raise. Needs the ``emulator`` extra (``pip install
'mcapi[emulator]'``).
"""

from mcapi import _extras

try:
    from mcapi.emulator._clock import Clock
    from mcapi.emulator._config import EmulatorConfig
    from mcapi.emulator._data import TenantProfile, get_profile, set_profile
    from mcapi.emulator._emulator import IN_PROCESS_URL, Emulator, EmulatorCredentials
    from mcapi.emulator._fault_engine import FaultEngine
    from mcapi.emulator._fault_transport import TransportFault
    from mcapi.emulator._faults import FaultEffect, FaultRule
    from mcapi.emulator._journal import Journal, JournalEntry
    from mcapi.emulator._operations import Admin, AdminError, BindingKeys, UnknownTarget
    from mcapi.emulator._store import SeedSummary
    from mcapi.emulator._validation import InvalidInput, Problem
    from mcapi.emulator.functions._registry import FunctionSpec
except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the wheel test
    if exc.name is not None and exc.name.partition(".")[0] in _extras.EMULATOR_MODULES:
        raise ModuleNotFoundError(
            f"mcapi.emulator needs {exc.name}, which is not installed; "
            + _extras.EMULATOR_EXTRA_HINT,
            name=exc.name,
        ) from exc
    raise

__all__ = [
    "IN_PROCESS_URL",
    "Admin",
    "AdminError",
    "BindingKeys",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "EmulatorCredentials",
    "FaultEffect",
    "FaultEngine",
    "FaultRule",
    "FunctionSpec",
    "InvalidInput",
    "Journal",
    "JournalEntry",
    "Problem",
    "SeedSummary",
    "TenantProfile",
    "TransportFault",
    "UnknownTarget",
    "get_profile",
    "set_profile",
]
