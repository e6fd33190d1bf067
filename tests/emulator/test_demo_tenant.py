"""The demo tenant matches the function table: the reader can call every read function."""

from __future__ import annotations

from mcapi.emulator import Emulator
from mcapi.emulator._store import READ_ONLY_PERMISSIONS


def test_reader_holds_every_read_permission(emu: Emulator) -> None:
    emu.load_demo()
    reader = emu.store.find_user("reader@demo.example")
    assert reader is not None
    needed = {
        spec.permission
        for spec in emu.functions.values()
        if spec.read_only and spec.permission and spec.permission.endswith("Read")
    }
    assert needed <= set(reader.permissions)
    assert set(reader.permissions) == set(READ_ONLY_PERMISSIONS)
    assert not any(p.endswith("Edit") for p in reader.permissions)


def test_admin_holds_everything_and_former_is_disabled(emu: Emulator) -> None:
    creds = emu.load_demo()
    admin = emu.store.find_user(creds.admin_email)
    former = emu.store.find_user(creds.disabled_email)
    assert admin is not None
    assert former is not None
    assert all(admin.has_permission(s.permission) for s in emu.functions.values() if s.permission)
    assert former.disabled
