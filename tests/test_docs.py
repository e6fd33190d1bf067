"""The code blocks of README.md and docs/*.md run as they are written.

Every fenced block is found (docs/writing-docs.md has the convention). A ``python``, ``sh`` or
``console`` block runs unless the line before its fence marks it ``<!-- fragment -->`` or
``<!-- not run: REASON -->``; data and output (``json``, ``toml``, ``text``...) are only shown. Each
runnable block gets a fresh emulator with the demo tenant (its generated data on a smaller scale
than ``mcapi emulator serve --demo`` makes it), served on loopback, and runs in a fresh directory
with the ``MCAPI_*`` variables that the demo prints: Python blocks with this interpreter, shell
blocks with bash (``set -euo pipefail``), a ``<!-- example: pytest -->`` block as a test file under
pytest. The blocks run in a few threads at once; each test then reports its own block.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from shutil import which

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = "docs/writing-docs.md"

#: Fence languages whose blocks are code: run unless marked.
PYTHON = {"python", "py"}
SHELL = {"sh", "bash", "shell"}
CONSOLE = {"console", "shell-session"}
#: Fence languages whose blocks are data, output or diagrams: shown, never run.
SHOWN = {"json", "jsonl", "toml", "text", "xml", "yaml", "ini", "csv", "http", "diff"}

#: Programs besides bash and mcapi that shell blocks may use; a block that needs a missing one
#: is skipped, saying so.
TOOLS = ("curl", "jq")
#: Seconds one block may take (a busy machine runs several at once).
TIMEOUT = 120
WORKERS = 3

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<body>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, the marker before it and its text."""

    doc: str  # relative to the repository, e.g. "docs/client.md"
    line: int  # of the opening fence, 1-based
    language: str
    marker: str | None  # the text of the HTML comment on the line before the fence
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def mode(self) -> str:
        """``python``, ``shell``, ``pytest``, ``shown``, ``fragment`` or ``not run``; raises
        ``ValueError`` saying how to fix a block that is none of these."""
        marker = self.marker
        if not self.language:
            raise ValueError("the fence has no language: give one (python, sh, json, text...)")
        known = PYTHON | SHELL | CONSOLE | SHOWN
        if self.language not in known:
            raise ValueError(
                f"unknown fence language {self.language!r}: use one of {sorted(known)}"
            )
        if marker is not None:
            if marker == "fragment" or marker.startswith("fragment:"):
                return "fragment"
            if marker.startswith("not run:") and marker[len("not run:") :].strip():
                return "not run"
            if marker == "example: pytest" and self.language in PYTHON:
                return "pytest"
            if marker == "run: api2" and self.language in PYTHON | SHELL | CONSOLE:
                return "python" if self.language in PYTHON else "shell"
            raise ValueError(f"unknown marker <!-- {marker} -->")
        if self.language in SHOWN:
            return "shown"
        return "python" if self.language in PYTHON else "shell"

    @property
    def api2(self) -> bool:
        return self.marker == "run: api2"


def docs() -> list[Path]:
    """README.md and every page of docs/ (not docs/design/, the design notes)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def parse(text: str, doc: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order (CommonMark fences: ``` or ~~~, closed by
    the same character at least as many times; an unclosed one runs to the end)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = opening["info"].strip().split(" ")[0].lower() if opening["info"].strip() else ""
        marker = None
        before = i - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0 and (found := _MARKER.match(lines[before])):
            marker = found["body"]
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = lines[j].strip()
            if closing.startswith(fence[0] * len(fence)) and set(closing) == {fence[0]}:
                break
            line = lines[j]
            strip = len(line) - len(line.lstrip(" \t"))
            body.append(line[min(indent, strip) :])
            j += 1
        blocks.append(Block(doc, i + 1, language, marker, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    found: list[Block] = []
    for path in docs():
        found.extend(parse(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()))
    return found


BLOCKS = all_blocks()


def _runnable(block: Block) -> bool:
    try:
        return block.mode in ("python", "shell", "pytest")
    except ValueError:
        return False


RUNNABLE = [block for block in BLOCKS if _runnable(block)]


def how_to_mark(block: Block) -> str:
    return (
        f"{block.id}: make the block complete (imports included, no top-level await: use "
        "asyncio.run) so that it runs against the demo emulator, or, if it cannot, put "
        "<!-- fragment --> (an excerpt) or <!-- not run: REASON --> (complete, but needs a real "
        f"tenant, the network, a server that runs until Ctrl-C...) on the line before its fence; "
        f"{GUIDE} has the convention"
    )


# ---- the parser and the marking -------------------------------------------------------------


def test_the_parser_finds_fences_markers_and_lines() -> None:
    text = (
        "# Title\n"
        "<!-- fragment -->\n"
        "```python\n"
        "client.call(path)\n"
        "```\n"
        "\n"
        "- a list item:\n"
        "\n"
        "  ````sh title=x\n"
        "  echo ```\n"
        "  ````\n"
        "~~~\n"
        "unclosed\n"
    )
    blocks = parse(text, "d.md")
    assert [(b.line, b.language, b.marker, b.text) for b in blocks] == [
        (3, "python", "fragment", "client.call(path)\n"),
        (9, "sh", None, "echo ```\n"),
        (12, "", None, "unclosed\n"),
    ]
    assert blocks[0].mode == "fragment" and blocks[1].mode == "shell"
    with pytest.raises(ValueError, match="no language"):
        _ = blocks[2].mode


@pytest.mark.parametrize(
    ("language", "marker", "mode"),
    [
        ("python", None, "python"),
        ("python", "fragment: needs `client`", "fragment"),
        ("sh", "not run: needs a real tenant", "not run"),
        ("console", None, "shell"),
        ("python", "example: pytest", "pytest"),
        ("python", "run: api2", "python"),
        ("json", None, "shown"),
        ("text", "fragment", "fragment"),
    ],
)
def test_the_markers(language: str, marker: str | None, mode: str) -> None:
    assert Block("d.md", 1, language, marker, "").mode == mode


@pytest.mark.parametrize(
    ("language", "marker", "problem"),
    [
        ("python", "not run:", "unknown marker"),  # a reason is required
        ("python", "fragmnet", "unknown marker"),
        ("rust", None, "unknown fence language"),
    ],
)
def test_a_bad_marking_is_refused(language: str, marker: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        _ = Block("d.md", 1, language, marker, "").mode


def test_the_docs_and_their_code_are_found() -> None:
    names = {block.doc for block in BLOCKS}
    assert {"README.md", "docs/client.md", "docs/emulator.md"} <= names
    assert not any(name.startswith("docs/design/") for name in names)
    assert len(RUNNABLE) >= 10, [block.id for block in RUNNABLE]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.id)
def test_every_block_is_runnable_or_marked(block: Block) -> None:
    """An unmarked code block is run (below): it must at least compile as a whole program."""
    try:
        mode = block.mode
    except ValueError as error:
        pytest.fail(f"{block.id}: {error}. {how_to_mark(block)}")
    if mode in ("python", "pytest"):
        try:
            compile(block.text, block.id, "exec")
        except SyntaxError as error:
            pytest.fail(f"{block.id}: does not compile ({error.msg}, line {error.lineno}). "
                        + how_to_mark(block))  # fmt: skip


# ---- running them -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def shell_script(block: Block) -> str:
    """A ``sh`` block as it is; a ``console`` block's ``$ `` lines (with their ``\\``
    continuations), its output lines dropped."""
    if block.language in SHELL:
        return block.text
    commands: list[str] = []
    continuing = False
    for line in block.text.splitlines():
        if continuing:
            commands.append(line)
        elif line.startswith("$ "):
            commands.append(line[2:])
        else:
            continue
        continuing = line.endswith("\\")
    return "\n".join(commands) + "\n"


def run_block(block: Block, workdir: Path) -> Ran:
    """Serve a fresh demo emulator and run ``block`` in ``workdir`` against it."""
    from mcapi.emulator import Emulator
    from mcapi.testing import TEST_KDF_N, serve

    emulator = Emulator("sqlite://", kdf_n=TEST_KDF_N)
    try:
        demo = emulator.load_demo()
        # The demo's own data (`serve --demo`) has 838 SIEM files: at its quota (300 calls, then
        # one a second) collecting them takes minutes. The same generator, on a smaller scale.
        emulator.admin.generate(demo.account_code, users=5, days=1, messages_per_user_day=5)
        with serve(emulator) as url:
            env = {k: v for k, v in os.environ.items() if not k.startswith("MCAPI_")}
            env.update(demo.env())
            if block.api2:
                env.update(demo.env2())
            env["MCAPI_BASE_URL"] = url
            env["MCAPI_CONFIG"] = str(workdir / "profiles.toml")  # never the user's profiles
            env["HOME"] = str(workdir)
            bin_dir = Path(sys.executable).parent
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
            # README's commands say .venv/bin/mcapi, from a checkout where `make` made .venv.
            (workdir / ".venv").symlink_to(bin_dir.parent, target_is_directory=True)
            if block.mode == "pytest":
                (workdir / "test_example.py").write_text(block.text, encoding="utf-8")
                argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "no:xdist", "test_example.py"]  # fmt: skip
            elif block.mode == "python":
                (workdir / "example.py").write_text(block.text, encoding="utf-8")
                argv = [sys.executable, "example.py"]
            else:
                script = "set -euo pipefail\n" + shell_script(block)
                argv = ["bash", "-c", script]
            # A new session has no terminal: prompts (`mcapi login`'s password) read stdin.
            process = subprocess.Popen(
                argv, cwd=workdir, env=env, text=True, start_new_session=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            try:
                out, err = process.communicate(f"{demo.admin_password}\n", timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                out, err = process.communicate()
                return Ran(-1, out, err, timed_out=True)
            return Ran(process.returncode, out, err)
    finally:
        emulator.close()


class Runs:
    """The selected blocks, run by a few threads from the first test that asks."""

    def __init__(self, blocks: list[Block], root: Path) -> None:
        self._blocks = blocks
        self._root = root
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[Ran]] = {}

    def result(self, block: Block) -> Ran:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="docs")
                for one in self._blocks:
                    workdir = self._root / re.sub(r"[^\w.-]", "_", one.id)
                    workdir.mkdir()
                    self._futures[one.id] = self._pool.submit(run_block, one, workdir)
        return self._futures[block.id].result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runs]:
    selected = {
        item.callspec.id
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_the_block_runs" and hasattr(item, "callspec")
    }
    runner = Runs([b for b in RUNNABLE if b.id in selected], tmp_path_factory.mktemp("docs"))
    try:
        yield runner
    finally:
        runner.close()


# One xdist worker runs them all (`make test` uses --dist loadgroup): the fixture starts every
# selected block at once, a few at a time, and a second worker would start them all again.
@pytest.mark.xdist_group("docs")
@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.id)
def test_the_block_runs(block: Block, runs: Runs) -> None:
    if block.mode == "shell":
        missing = [t for t in TOOLS if re.search(rf"\b{t}\b", block.text) and not which(t)]
        if missing:
            pytest.skip(f"{block.id} needs {', '.join(missing)}, not installed here")
    ran = runs.result(block)
    what = f"timed out after {TIMEOUT} s" if ran.timed_out else f"exited {ran.returncode}"
    assert ran.returncode == 0, (
        f"{block.id} {what}; the doc or the code has drifted.\n"
        f"--- stdout (end)\n{ran.stdout[-3000:]}\n--- stderr (end)\n{ran.stderr[-3000:]}\n"
        + how_to_mark(block)
    )
    if block.mode == "pytest":  # every test of the example ran and passed
        summary = ran.stdout.strip().splitlines()[-1]
        assert re.fullmatch(r"\d+ passed in .*", summary), f"{block.id}: {summary}"


def test_a_console_block_runs_its_commands_only() -> None:
    block = Block("d.md", 1, "console", None, "$ echo one \\\n  two\none two\n$ true\n")
    assert shell_script(block) == "echo one \\\n  two\ntrue\n"


@pytest.mark.parametrize(
    ("language", "text", "said"),
    [
        # a call the emulator refuses: the block's exception ends the program
        ("python", "from mcapi import Client\nClient.from_env().call('/api/no/such')\n", "404"),
        # an unset variable, and a failing command in the middle of a pipe
        ("sh", 'echo "$NOT_SET"\n', "NOT_SET: unbound variable"),
        ("sh", "mcapi call /api/no/such | cat\necho not reached\n", "404"),
    ],
)
def test_a_broken_block_fails(tmp_path: Path, language: str, text: str, said: str) -> None:
    ran = run_block(Block("d.md", 1, language, None, text), tmp_path)
    assert ran.returncode != 0
    assert said in ran.stderr
    assert "not reached" not in ran.stdout
