"""``/api/email/get-email-queues``: the sizes of the inbound and outbound delivery queues over time.

One sample every 10 minutes (on the clock's 10-minute marks) in ``[start, end]``: how many
messages were waiting in the delivery queue at that instant, counted from the same rows that
``/api/gateway/find-processing-messages`` lists (a message is queued from ``created`` until it
leaves). Internal mail is delivered like outbound mail and counts in the outbound queue.

The platform keeps a short history of these figures: a window reaching further back than
:data:`HISTORY_DAYS` answers the samples of the last :data:`HISTORY_DAYS` days, and samples are
never in the future (both the emulator's choice; an integration's documented call asks for seven
years and shows four samples).
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import processing_messages
from mcapi.emulator.functions._common import (
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    format_time,
    parse_time,
    run_single,
)
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import DATE, INT, array, obj

__all__ = ["HISTORY_DAYS", "SAMPLE_SECONDS", "SPECS"]

SAMPLE_SECONDS = 600
HISTORY_DAYS = 7
_POINT = obj({"date": DATE, "count": INT}, "date", "count")


def get_email_queues(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The queue sizes at every 10-minute mark of ``[start, end]`` (both required)."""

    def handle(item: Item) -> FunctionResult:
        start = parse_time(item, "start")
        end = parse_time(item, "end")
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
        start = max(start, ctx.now - HISTORY_DAYS * 86400)
        end = min(end, ctx.now)
        first = math.ceil(start / SAMPLE_SECONDS) * SAMPLE_SECONDS
        instants = [float(t) for t in range(int(first), int(end) + 1, SAMPLE_SECONDS)]
        inbound, outbound = _counts(ctx, instants)
        return FunctionResult(
            data=[{
                "inboundEmailQueue": _series(instants, inbound),
                "outboundEmailQueue": _series(instants, outbound),
            }]
        )  # fmt: skip

    return run_single(ctx, handle)


def _counts(ctx: FunctionContext, instants: list[float]) -> tuple[list[int], list[int]]:
    inbound, outbound = [0] * len(instants), [0] * len(instants)
    if not instants:
        return inbound, outbound
    t = processing_messages.c
    stmt = sa.select(t.created, t.left_at, t.route).where(
        t.account_id == ctx.account.id,
        t.created <= instants[-1],
        sa.or_(t.left_at.is_(None), t.left_at > instants[0]),
    )
    with ctx.store.connect() as conn:
        rows = conn.execute(stmt).all()
    # a message counts at the instants in [created, left_at): add +1 where that run of samples
    # begins and -1 where it ends, then a running sum gives every sample's count
    steps = {"inbound": [0] * (len(instants) + 1), "outbound": [0] * (len(instants) + 1)}
    for created, left_at, route in rows:
        delta = steps["inbound" if route == "inbound" else "outbound"]
        first = bisect.bisect_left(instants, created)
        last = len(instants) if left_at is None else bisect.bisect_left(instants, left_at)
        if first < last:
            delta[first] += 1
            delta[last] -= 1
    for counts, name in ((inbound, "inbound"), (outbound, "outbound")):
        counts[:] = list(itertools.accumulate(steps[name][:-1]))
    return inbound, outbound


def _series(instants: list[float], counts: list[int]) -> list[dict[str, Any]]:
    return [{"date": format_time(t), "count": n} for t, n in zip(instants, counts, strict=True)]


SPECS = (
    FunctionSpec(
        path="/api/email/get-email-queues",
        handler=get_email_queues,
        summary="Inbound and outbound delivery queue sizes every 10 minutes of a window",
        permission="Account | Dashboard | Read",
        read_only=True,
        request_schema=obj({"start": DATE, "end": DATE}, "start", "end"),
        response_schema=obj(
            {"inboundEmailQueue": array(_POINT), "outboundEmailQueue": array(_POINT)},
            "inboundEmailQueue",
            "outboundEmailQueue",
        ),
        max_items=1,
    ),
)
