"""mcapi.collect's curated surface: every public name importable; no database or emulator
loaded for a collector that writes files."""

from __future__ import annotations

import subprocess
import sys

import mcapi.collect


def test_every_public_name_is_importable() -> None:
    assert len(set(mcapi.collect.__all__)) == len(mcapi.collect.__all__)
    for name in mcapi.collect.__all__:
        assert getattr(mcapi.collect, name) is not None
    assert mcapi.collect.STREAMS == (
        "siem", "audit", "ttp-url", "ttp-attachment", "ttp-impersonation",
    )  # fmt: skip


def test_importing_collect_loads_neither_sqlalchemy_nor_the_emulator() -> None:
    code = (
        "import sys, mcapi.collect; "
        "print('sqlalchemy' in sys.modules, 'mcapi.emulator' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
