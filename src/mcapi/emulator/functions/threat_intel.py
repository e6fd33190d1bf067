"""The threat-intelligence feed: ``/api/ttp/threat-intel/get-feed``.

A call answers one file of the feed (``malware_customer``: malicious files found in the account's
mail; ``malware_grid``: found across its regional grid), listing at most :data:`FILE_INDICATORS`
indicators created between ``start`` and ``end``, oldest first. Every file carries
``x-mc-threat-feed-next-token``, naming its last indicator; the next call sends it as ``token``
and gets the indicators after that one (``start`` is then not used). A collector reads files
until nothing is left, and later resumes with the last token it received.

Nothing left is answered in the form each kind of public collector recognises as the end (the
emulator's reading of the platform, which does not document it): for STIX, an empty bundle
without the header (the end of the elastic collector's walk); for CSV, the JSON fail entry "No
results found for threat intel feed." whose header repeats the token sent (the Azure Sentinel
connector stops when the token comes back unchanged, the Netskope plugin on a one-line answer).
"""

from __future__ import annotations

import sqlalchemy as sa

from mcapi._envelope import FailItem
from mcapi.emulator._data import threat_indicators
from mcapi.emulator.functions._common import (
    INVALID,
    NOT_FOUND,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
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

    def handle(item: Item) -> FunctionResult | StreamResult:
        feed_type = choice(item, "feedType", FEED_TYPES, default="malware_customer")
        file_type = choice(item, "fileType", FILE_TYPES, default="csv")
        compress = boolean(item, "compress")
        end = parse_time(item, "end", default=ctx.now)
        start = parse_time(item, "start", default=ctx.now - DEFAULT_DAYS * 86400)
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
        token = optional_text(item, "token", max_length=1000)
        t = threat_indicators.c
        stmt = sa.select(threat_indicators).where(
            t.account_id == ctx.account.id, t.feed_type == feed_type, t.created <= end
        )
        if token:
            after = decode_token(token, ctx.account.id, feed_type)
            if after is None:
                raise ItemRefused(INVALID, "token is not a token of this feed", "token")
            stmt = stmt.where(
                sa.tuple_(t.created, t.seq) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
            )
        else:
            stmt = stmt.where(t.created >= start)
        with ctx.store.connect() as conn:
            rows = list(conn.execute(stmt.order_by(t.created, t.seq).limit(FILE_INDICATORS)))
        if not rows and file_type == "csv":
            # Nothing left: the JSON answer collectors of CSV files recognise, repeating the token
            # sent (the position has not moved), which is how they know the walk is over.
            failure = ItemRefused(NOT_FOUND, NO_RESULTS).detail()
            return FunctionResult(
                fail=[FailItem(key=dict(item), errors=(failure,))],
                headers={FEED_TOKEN_HEADER: token} if token else None,
            )
        when = rows[0].created if rows else end
        name = file_name(feed_type, file_type, when, compress=compress)
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if rows:  # an empty STIX bundle, the end of the walk, has no token
            last = rows[-1]
            headers[FEED_TOKEN_HEADER] = encode_token(
                ctx.account.id, feed_type, last.created, last.seq
            )
        body = render(rows, ctx.account.id, feed_type, file_type, when=when, compress=compress)
        return StreamResult(chunks=iter([body]), headers=headers)

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
