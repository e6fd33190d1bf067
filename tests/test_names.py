"""Names that mean one thing: a top-level class or constant is defined in one module only.

Two modules defining ``NotFound`` (one an API error users catch, the other a missing database
row) make readers and tracebacks ambiguous. A name may repeat only when it is listed below with
the reason it is the same idea in each place.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "mcapi"

#: Names each function module defines for its own function table, by design.
ALLOWED = {
    "SPECS": "each function module's table of its functions, gathered by the registry",
}


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                names.add(target.id)
    return {n for n in names if not n.startswith("_") and n != "__all__"}


def test_each_class_and_constant_is_defined_once() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        for name in _top_level_names(path):
            where[name].append(str(path.relative_to(SRC)))
    repeated = {n: m for n, m in where.items() if len(m) > 1 and n not in ALLOWED}
    assert repeated == {}, "defined in more than one module: " + "; ".join(
        f"{n} in {', '.join(m)}" for n, m in sorted(repeated.items())
    )
