"""The two shells are one program: ``_async_client.py``, unasynced, is ``_client.py``.

Both files are parsed, their docstrings dropped, the async one rewritten as httpcore's unasync
does (``async def`` -> ``def``, ``await x`` -> ``x``, ``async with``/``async for``, and the names
in :data:`SUBSTITUTIONS`), and both unparsed to one normal form. What still differs must be
exactly :data:`EXPECTED_DIFFERENCES`: a change made to one shell only (a pacing rule, a retry
condition) fails here until it is made to the other one too.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import pytest

import mcapi.client

CLIENT = Path(mcapi.client.__file__).parent
SYNC, ASYNC = CLIENT / "_client.py", CLIENT / "_async_client.py"

#: Names that differ only by being the asyncio flavour of the same thing.
SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\baiter_(items|pages|bytes)\b", r"iter_\1"),
    (r"\bAsyncBaseTransport\b", "BaseTransport"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bAwaitable\[None\]", "None"),
    (r"\baread\b", "read"),
    (r"\baclose\b", "close"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\bbound_async\b", "bound_sync"),
    (r"\bAsyncHttpClient\b", "HttpClient"),
)

#: What may differ after the rewriting, and why: ``-`` lines are the sync shell's, ``+`` lines
#: the async one's.
EXPECTED_DIFFERENCES = [
    "+ import asyncio",  # the async shell's renewal lock
    "- import time",  # the sync shell's default sleep
    "- from collections.abc import Callable, Iterator, Mapping, Sequence",
    "+ from collections.abc import Iterator, Awaitable, Callable, Mapping, Sequence",
    # A thread blocks on the binding's threading.Lock; a task must await an asyncio.Lock of its
    # own event loop instead.
    "+ self._renew_lock = asyncio.Lock()",
    "- with binding.lock:",
    "+ with self._renew_lock:",
]


class _Unasync(ast.NodeTransformer):
    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.FunctionDef(**fields), node)

    def visit_Await(self, node: ast.Await) -> ast.AST:
        self.generic_visit(node)
        return node.value

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.AST:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.With(**fields), node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        self.generic_visit(node)
        fields = {name: getattr(node, name) for name in node._fields}
        return ast.copy_location(ast.For(**fields), node)


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]


def normal_form(source: str) -> list[str]:
    """The shell's code, without docstrings or comments, unasynced, one statement per line."""
    tree = ast.parse(source)
    _drop_docstrings(tree)
    text = ast.unparse(ast.fix_missing_locations(_Unasync().visit(tree)))
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text)
    return [line.strip() for line in text.splitlines()]


def differences(sync_source: str, async_source: str) -> list[str]:
    a, b = normal_form(sync_source), normal_form(async_source)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out.extend(f"- {line}" for line in a[i1:i2])
            out.extend(f"+ {line}" for line in b[j1:j2])
    return out


def test_the_shells_differ_only_where_expected() -> None:
    found = differences(SYNC.read_text(encoding="utf-8"), ASYNC.read_text(encoding="utf-8"))
    assert found == EXPECTED_DIFFERENCES


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pause = min(delay, budget)", "pause = delay"),  # the pacing cap, in one shell only
        ("budget -= pause", "budget -= delay"),
        ("if stream and not file:", "if stream:"),
    ],
)
def test_a_change_to_one_shell_is_caught(old: str, new: str) -> None:
    source = ASYNC.read_text(encoding="utf-8")
    assert old in source
    mutated = differences(SYNC.read_text(encoding="utf-8"), source.replace(old, new, 1))
    assert mutated != EXPECTED_DIFFERENCES
