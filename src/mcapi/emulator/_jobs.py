"""Admin operations that run off the event loop: jobs (``/_emulator/jobs``).

Theory of operation
-------------------
Generating a large tenant, loading a seed (scrypt hashes every password) and emptying every table
take seconds to minutes. Run on the event loop they would hold every other request of the process
for that long, signed calls included. So the admin routes ``reset``, ``seed`` and
``accounts/{code}/generate`` check their input at once (a bad request is still answered 400 with
nothing started), then hand the operation to this module as a :class:`Job` and answer
``202 Accepted`` with ``Location: /_emulator/jobs/ID``; ``GET /_emulator/jobs/ID`` shows the
job's state, its progress and, once it is over, its result or its refusal.

Jobs run one at a time, in the order they were accepted, on one worker thread of the process
(two generations of one account must not interleave, and a reset queued behind a generation
empties what it wrote). A job is ``queued``, then ``running``, then ``done`` or ``failed``;
``progress`` counts steps ``done`` out of ``total`` (the stages of the generator; ``total`` is
``null`` while unknown) and names the current ``stage``.

``?wait=S`` on the route waits up to ``S`` seconds for the job: done by then, the route answers
what it always answered (200 and the result, or the refusal with its status); still running,
``202`` as without ``wait``. The CLI sends ``wait=1`` and follows the job when it takes longer.

Jobs live in the process that accepted them (the last :data:`KEPT_JOBS` finished ones are kept):
behind a balancer over several processes, follow a job on the process that answered 202, or ask
with ``?wait``.
"""

from __future__ import annotations

import logging
import math
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcapi.emulator._store._errors import StoreError
from mcapi.emulator._validation import InvalidInput

__all__ = [
    "KEPT_JOBS",
    "MAX_WAIT_SECONDS",
    "Job",
    "JobRunner",
    "JobState",
    "Progress",
    "failure_answer",
    "job_response",
]

logger = logging.getLogger("mcapi.emulator")

JobState = Literal["queued", "running", "done", "failed"]
#: Finished jobs kept for ``GET /_emulator/jobs`` (the oldest go first).
KEPT_JOBS = 100
#: The longest ``?wait`` a route accepts (one hour).
MAX_WAIT_SECONDS = 3600.0


def failure_answer(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """The status and body the admin API answers for an operation's exception (the same mapping
    as its routes: the caller's mistakes 400/404, anything else 500)."""
    if isinstance(exc, InvalidInput):
        return exc.status, exc.to_dict()
    if isinstance(exc, StoreError | ValueError):
        status = 404 if isinstance(exc, LookupError) else 400
        return status, InvalidInput("", str(exc)).to_dict()
    if isinstance(exc, TypeError | OverflowError):
        return 400, InvalidInput("", f"bad request: {exc}").to_dict()
    return 500, {"error": f"the job failed: {type(exc).__name__}: {exc}", "problems": []}


@dataclass(eq=False)
class Job:
    """One admin operation run off the event loop."""

    id: str
    kind: str
    #: wall-clock epoch seconds (a job's times are real time, not the emulator clock's)
    created: float
    state: JobState = "queued"
    started: float | None = None
    finished: float | None = None
    done: int = 0
    total: int | None = None
    stage: str | None = None
    #: the route's answer once done
    result: Any = None
    #: the refusal (``{"error", "problems"}``) and its status once failed
    error: dict[str, Any] | None = None
    status: int | None = None
    exception: BaseException | None = field(default=None, repr=False)
    over: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def location(self) -> str:
        return f"/_emulator/jobs/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """The job as ``GET /_emulator/jobs/ID`` shows it."""
        view: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "progress": {"done": self.done, "total": self.total, "stage": self.stage},
            "location": self.location,
        }
        if self.state == "done":
            view["status"] = self.status
            view["result"] = self.result
        elif self.state == "failed":
            view["status"] = self.status
            view["error"] = self.error
        return view


class Progress:
    """What an operation tells its job while it runs: how many steps there are, which is done."""

    def __init__(self, job: Job | None = None) -> None:
        self._job = job
        self._lock = threading.Lock()

    def add_total(self, steps: int) -> None:
        """``steps`` more steps are known to come."""
        if self._job is None:
            return
        with self._lock:
            self._job.total = (self._job.total or 0) + steps

    def stage(self, name: str) -> None:
        """Name what is being done now, without counting a step."""
        if self._job is not None:
            self._job.stage = name

    def step(self, name: str) -> None:
        """One step done (``name`` says which)."""
        if self._job is None:
            return
        with self._lock:
            self._job.done += 1
            self._job.stage = name


Work = Callable[[Progress], Any]


class JobRunner:
    """Runs jobs one at a time on a worker thread of its own (started with the first job)."""

    def __init__(self, kept: int = KEPT_JOBS) -> None:
        self.kept = kept
        self._jobs: dict[str, Job] = {}
        self._work: dict[str, Work] = {}
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, kind: str, work: Work, *, total: int | None = None) -> Job:
        """Queue ``work`` (called with the job's :class:`Progress`; what it returns is the
        result); returns the job at once."""
        job = Job(id=secrets.token_hex(8), kind=kind, created=time.time(), total=total)
        with self._lock:
            if self._closed:
                raise RuntimeError("the emulator is closed: no job can start")
            self._jobs[job.id] = job
            self._work[job.id] = work
            self._forget_old()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="mcapi-emulator-jobs", daemon=True
                )
                self._thread.start()
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every kept job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    async def wait(self, job: Job, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``job`` to be over, without holding the event loop;
        whether it is."""
        deadline = time.monotonic() + seconds
        pause = 0.001
        while not job.over.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await anyio.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking jobs; queued ones are dropped, and the one running is given up to
        ``timeout`` seconds to end (the database is closed next)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._queue.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ---- the worker ------------------------------------------------------------------------------
    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.over.is_set()]
        for job in finished[: max(0, len(finished) - self.kept)]:
            del self._jobs[job.id]

    def _serve(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._closed:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                work = self._work.pop(job_id, None)
            if job is not None and work is not None:
                self._run(job, work)

    def _run(self, job: Job, work: Work) -> None:
        job.started = time.time()
        job.state = "running"
        try:
            result = work(Progress(job))
        except Exception as exc:  # the job's answer, as the route would have given it
            job.status, job.error = failure_answer(exc)
            job.exception = exc
            if job.status >= 500:
                logger.exception("admin job %s (%s) failed", job.id, job.kind)
            job.finished = time.time()
            job.state = "failed"
        else:
            job.result, job.status = result, 200
            if job.total is not None:
                job.done = job.total
            job.finished = time.time()
            job.state = "done"
        job.over.set()


def _wait_seconds(request: Request) -> float:
    text = request.query_params.get("wait")
    if text is None:
        return 0.0
    try:
        seconds = float(text)
    except ValueError:
        raise InvalidInput("wait", f"seconds to wait, got {text[:40]!r}") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise InvalidInput("wait", f"must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
    return seconds


async def job_response(
    runner: JobRunner, request: Request, kind: str, work: Work, *, total: int | None = None
) -> Response:
    """Run ``work`` as a job and answer for it: ``202`` with ``Location`` and the job, or, when
    ``?wait=S`` was given and the job is over within ``S`` seconds, the operation's own answer
    (200 and its result; a refusal is raised again, for the route's usual error answer)."""
    seconds = _wait_seconds(request)
    job = runner.submit(kind, work, total=total)
    if seconds and await runner.wait(job, seconds):
        if job.exception is not None and job.error is not None and (job.status or 500) < 500:
            raise job.exception
        if job.state == "failed":
            return JSONResponse(job.error, job.status or 500)
        return JSONResponse(job.result)
    return JSONResponse(job.to_dict(), 202, headers={"Location": job.location})


def job_routes(runner: JobRunner) -> tuple[Callable[[Request], Any], Callable[[Request], Any]]:
    """The endpoints of ``GET /_emulator/jobs`` and ``GET /_emulator/jobs/{job_id}``."""

    async def listing(request: Request) -> Response:
        return JSONResponse({"jobs": [job.to_dict() for job in runner.jobs()]})

    async def one(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        job = runner.get(job_id)
        if job is None:
            problem = InvalidInput(
                "job_id", f"no job {job_id[:40]} (finished jobs are kept a while)"
            )
            return JSONResponse(problem.to_dict(), 404)
        return JSONResponse(job.to_dict())

    return listing, one
