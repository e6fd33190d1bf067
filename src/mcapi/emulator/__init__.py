"""The Mimecast API 1.0 emulator: ``Emulator`` holds its state and serves its ASGI app."""

from mcapi.emulator._config import EmulatorConfig
from mcapi.emulator._emulator import IN_PROCESS_URL, Emulator, EmulatorCredentials

__all__ = ["IN_PROCESS_URL", "Emulator", "EmulatorConfig", "EmulatorCredentials"]
