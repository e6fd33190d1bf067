"""The threat-intelligence feed: ``/api/ttp/threat-intel/get-feed``.

A call answers one file of the feed (``malware_customer``: malicious files found in the account's
mail; ``malware_grid``: found across its regional grid), listing at most :data:`FILE_INDICATORS`
indicators created between ``start`` and ``end``, oldest first. When more follow, the answer
carries ``x-mc-threat-feed-next-token``; the next call sends it as ``token`` and gets the next
file. Without the header the feed is read to its end: a later call with the last token it
received picks up indicators added since. With ``token``, the file starts after the indicator the
token names and ``start`` is not used. When no indicator is left, the answer is JSON with a fail
entry "No results found for threat intel feed." (the message collectors look for).
"""

from __future__ import annotations

import sqlalchemy as sa

from mcapi.emulator._data import threat_indicators
from mcapi.emulator.functions._common import (
    INVALID,
    NOT_FOUND,
    OUT_OF_RANGE,
    Item,
    ItemError,
    boolean,
    choice,
    optional_text,
    parse_time,
    run_single,
)
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, STR, enum, obj
from mcapi.emulator.functions._threat_feed import decode_token, encode_token, file_name, render

__all__ = ["FEED_TOKEN_HEADER", "FILE_INDICATORS", "SPECS"]

FEED_TOKEN_HEADER = "x-mc-threat-feed-next-token"
FEED_TYPES = ("malware_customer", "malware_grid")
FILE_TYPES = ("csv", "stix")
#: Most indicators in one file (the emulator's choice; the platform does not document it).
FILE_INDICATORS = 50
DEFAULT_DAYS = 7
NO_RESULTS = "No results found for threat intel feed."


def get_feed(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """One file of the threat-intelligence feed, and the token of the next."""

    def handle(item: Item) -> StreamResult:
        feed_type = choice(item, "feedType", FEED_TYPES, default="malware_customer")
        file_type = choice(item, "fileType", FILE_TYPES, default="csv")
        compress = boolean(item, "compress")
        end = parse_time(item, "end", default=ctx.now)
        start = parse_time(item, "start", default=ctx.now - DEFAULT_DAYS * 86400)
        if end < start:
            raise ItemError(OUT_OF_RANGE, "end is before start", "end")
        token = optional_text(item, "token", max_length=1000)
        t = threat_indicators.c
        stmt = sa.select(threat_indicators).where(
            t.account_id == ctx.account.id, t.feed_type == feed_type, t.created <= end
        )
        if token:
            after = decode_token(token, ctx.account.id, feed_type)
            if after is None:
                raise ItemError(INVALID, "token is not a token of this feed", "token")
            stmt = stmt.where(
                sa.tuple_(t.created, t.seq) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
            )
        else:
            stmt = stmt.where(t.created >= start)
        with ctx.store.connect() as conn:
            rows = list(conn.execute(stmt.order_by(t.created, t.seq).limit(FILE_INDICATORS + 1)))
        if not rows:
            raise ItemError(NOT_FOUND, NO_RESULTS)
        more = len(rows) > FILE_INDICATORS
        rows = rows[:FILE_INDICATORS]
        name = file_name(feed_type, file_type, rows[0].created, compress=compress)
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if more:
            last = rows[-1]
            headers[FEED_TOKEN_HEADER] = encode_token(
                ctx.account.id, feed_type, last.created, last.seq
            )
        return StreamResult(
            chunks=iter([render(rows, feed_type, file_type, compress=compress)]),
            headers=headers,
        )

    return run_single(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/ttp/threat-intel/get-feed",
        handler=get_feed,
        summary="One file of the threat-intelligence feed (CSV or STIX) and the next one's token",
        permission="Gateway | Tracking | Read",
        read_only=True,
        request_schema=obj(
            {
                "feedType": enum(*FEED_TYPES),
                "fileType": enum(*FILE_TYPES),
                "compress": BOOL,
                "start": DATE,
                "end": DATE,
                "token": STR,
            }
        ),
        response_schema=obj({}),
        max_items=1,
        streams=True,
    ),
)
