"""pytest plugin: fixtures that give a fresh in-process emulator."""
