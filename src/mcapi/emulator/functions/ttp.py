"""URL Protect: ``/api/ttp/url/decode-url``, managed URLs (create, list, delete), click logs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from mcapi.emulator._data import click_logs, managed_urls, new_id, record_audit
from mcapi.emulator.functions._common import (
    INVALID,
    Item,
    ItemRefused,
    boolean,
    choice,
    format_time,
    optional_text,
    required_text,
    run_items,
    run_single,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, log_window, page
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, enum, obj
from mcapi.emulator.functions._urls import unprotect_url

__all__ = ["SPECS"]

_READ = "Monitoring | URL Protection | Read"
_EDIT = "Monitoring | URL Protection | Edit"
_MAX_ITEMS = 100
URL_EXISTS = "err_managed_url_exists_code"
URL_NOT_FOUND = "err_managed_url_not_found"

MANAGED_URL = obj(
    {
        "id": STR,
        "scheme": STR,
        "domain": STR,
        "port": INT,
        "path": STR,
        "queryString": STR,
        "matchType": enum("explicit", "domain"),
        "action": enum("block", "permit"),
        "comment": STR,
        "disableUserAwareness": BOOL,
        "disableRewrite": BOOL,
        "disableLogClick": BOOL,
    },
    "id",
    "domain",
    "matchType",
    "action",
)
CLICK_LOG = obj(
    {
        "userEmailAddress": STR,
        "fromUserEmailAddress": STR,
        "url": STR,
        "ttpDefinition": STR,
        "subject": STR,
        "action": STR,
        "adminOverride": STR,
        "userOverride": STR,
        "scanResult": STR,
        "category": STR,
        "sendingIp": STR,
        "userAwarenessAction": STR,
        "date": DATE,
        "route": STR,
        "creationMethod": STR,
        "emailPartsDescription": array(STR),
        "messageId": STR,
    },
    "url",
    "date",
    "scanResult",
)


def decode_url(ctx: FunctionContext) -> FunctionResult:
    """The original URL behind each URL Protect link."""

    def handle(item: Item) -> Iterable[Any]:
        link = required_text(item, "url", max_length=4096)
        url = unprotect_url(link)
        if url is None:
            raise ItemRefused(INVALID, "url is not a Mimecast URL Protect link", "url")
        return [{"url": url, "success": True}]

    return run_items(ctx, handle)


def _parse_managed(item: Item) -> dict[str, Any]:
    raw = required_text(item, "url", max_length=2000)
    match_type = choice(item, "matchType", ("explicit", "domain"), default="explicit")
    text = raw if "://" in raw else f"http://{raw}"
    try:
        parts = urlsplit(text)
        port = parts.port if parts.port is not None else -1
    except ValueError:
        raise ItemRefused(INVALID, "url is not a valid URL", "url") from None
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("http", "https") or "." not in host:
        raise ItemRefused(INVALID, "url must be an http(s) URL with a domain name", "url")
    scheme = parts.scheme.lower()
    if match_type == "domain":
        key, path, query = f"domain:{host}", "", ""
    else:
        path, query = parts.path, parts.query
        key = f"explicit:{scheme}://{host}:{port}{path}?{query}"
    return {
        "url_key": key,
        "scheme": scheme,
        "domain": host,
        "port": port,
        "path": path,
        "query_string": query,
        "match_type": match_type,
        "action": choice(item, "action", ("block", "permit")),
        "comment": optional_text(item, "comment", max_length=500),
        "disable_user_awareness": boolean(item, "disableUserAwareness"),
        "disable_rewrite": boolean(item, "disableRewrite"),
        "disable_log_click": boolean(item, "disableLogClick"),
    }


def _managed_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "scheme": row.scheme,
        "domain": row.domain,
        "port": row.port,
        "path": row.path,
        "queryString": row.query_string,
        "matchType": row.match_type,
        "action": row.action,
        "comment": row.comment,
        "disableUserAwareness": row.disable_user_awareness,
        "disableRewrite": row.disable_rewrite,
        "disableLogClick": row.disable_log_click,
    }


def create_managed_url(ctx: FunctionContext) -> FunctionResult:
    """Add managed URLs (block or permit); an existing one fails with its own body code."""

    def handle(item: Item) -> Iterable[Any]:
        values = _parse_managed(item)
        try:
            with ctx.store.begin() as conn:
                row = conn.execute(
                    managed_urls.insert()
                    .values(id=new_id(), account_id=ctx.account.id, created=ctx.now, **values)
                    .returning(*managed_urls.c)
                ).one()
                record_audit(
                    conn, ctx.account.id, user=ctx.user.email, audit_type="Managed URL Created",
                    category="ttp_logs", now=ctx.now, app_id=ctx.app_id,
                    info=f"Managed URL {row.domain}{row.path} set to {row.action}",
                )  # fmt: skip
        except sa.exc.IntegrityError:  # the (account, url_key) unique constraint
            raise ItemRefused(
                URL_EXISTS, "The managed URL already exists; to update it, delete and recreate"
            ) from None
        return [_managed_record(row)]

    return run_items(ctx, handle)


def get_all_managed_urls(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The account's managed URLs, oldest first, paged; ``domainOrUrl`` keeps the entries whose
    domain or URL contains it (equals it, with ``exactMatch``); ``domain`` keeps one domain's."""

    def handle(item: Item) -> FunctionResult:
        domain = optional_text(item, "domain", max_length=253).lower()
        wanted = optional_text(item, "domainOrUrl", max_length=2000).lower()
        exact = boolean(item, "exactMatch")
        t = managed_urls.c
        stmt = sa.select(managed_urls).where(t.account_id == ctx.account.id)
        if domain:
            stmt = stmt.where(t.domain == domain)
        if wanted:
            stmt = stmt.where(_matching(wanted, exact))
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.seq], request=ctx.request.pagination, scope="managed-urls",
                descending=False, total=True,
            )  # fmt: skip
        return FunctionResult(
            data=[_managed_record(r) for r in found.rows], pagination=found.pagination
        )

    return run_single(ctx, handle)


def _matching(wanted: str, exact: bool) -> sa.ColumnElement[bool]:
    """Managed URLs that match ``domainOrUrl``: its domain, or its URL without the scheme
    (``host/path``), equal to the value (``exactMatch``) or containing it. A value given with
    its scheme is compared without it; a trailing ``/`` does not matter."""
    t = managed_urls.c
    bare = wanted.split("://", 1)[1] if "://" in wanted else wanted
    bare = bare.rstrip("/")
    address = sa.func.lower(t.domain + t.path)
    if exact:
        trimmed = sa.func.rtrim(address, "/")
        return sa.or_(t.domain == bare, trimmed == bare)
    return sa.or_(
        t.domain.contains(bare, autoescape=True),
        address.contains(bare, autoescape=True),
    )


def delete_managed_url(ctx: FunctionContext) -> FunctionResult:
    """Remove managed URLs by id."""

    def handle(item: Item) -> Iterable[Any]:
        url_id = required_text(item, "id", max_length=64)
        t = managed_urls.c
        with ctx.store.begin() as conn:
            row = conn.execute(
                managed_urls.delete()
                .where(t.account_id == ctx.account.id, t.id == url_id)
                .returning(t.domain, t.path)
            ).first()
            if row is None:
                raise ItemRefused(URL_NOT_FOUND, "Managed URL not found", "id")
            record_audit(
                conn, ctx.account.id, user=ctx.user.email, audit_type="Managed URL Deleted",
                category="ttp_logs", info=f"Managed URL {row.domain}{row.path} deleted",
                now=ctx.now, app_id=ctx.app_id,
            )  # fmt: skip
        return [{"id": url_id}]

    return run_items(ctx, handle)


def get_logs(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """URL Protect click logs between two dates (default: the 24 hours before the walk's first
    page), paged."""

    def handle(item: Item) -> FunctionResult:
        window = log_window(ctx.request.pagination, item, "ttp-logs", ctx.now)
        start, end, now = window.start, window.end, window.now
        scope, oldest_first = window.scope, window.oldest_first
        route = choice(item, "route", ("all", "internal", "outbound", "inbound"), default="all")
        scan = choice(item, "scanResult", ("all", "clean", "malicious"), default="all")
        t = click_logs.c
        stmt = sa.select(click_logs).where(
            t.account_id == ctx.account.id, t.date >= start, t.date <= end
        )
        if route != "all":
            stmt = stmt.where(t.route == route)
        if scan != "all":
            stmt = stmt.where(t.scan_result == scan)
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.date, t.seq], request=ctx.request.pagination, scope=scope,
                descending=not oldest_first, anchor=now,
            )  # fmt: skip
        logs = [
            {
                "userEmailAddress": r.user_email,
                "fromUserEmailAddress": r.from_user_email,
                "url": r.url,
                "ttpDefinition": r.ttp_definition,
                "subject": r.subject,
                "action": r.action,
                "adminOverride": r.admin_override,
                "userOverride": r.user_override,
                "scanResult": r.scan_result,
                "category": r.category,
                "sendingIp": r.sending_ip,
                "userAwarenessAction": r.user_awareness_action,
                "date": format_time(r.date),
                "route": r.route,
                "creationMethod": "User Click",
                "emailPartsDescription": ["Body"],
                "messageId": r.message_id,
            }
            for r in found.rows
        ]
        return FunctionResult(data=[{"clickLogs": logs}], pagination=found.pagination)

    return run_single(ctx, handle)


_URL_ITEM = obj(
    {
        "url": STR,
        "action": enum("block", "permit"),
        "matchType": enum("explicit", "domain"),
        "comment": STR,
        "disableUserAwareness": BOOL,
        "disableRewrite": BOOL,
        "disableLogClick": BOOL,
    },
    "url",
    "action",
)

SPECS = (
    FunctionSpec(
        path="/api/ttp/url/decode-url",
        handler=decode_url,
        summary="The original URL behind a URL Protect link",
        permission=_READ,
        read_only=True,
        request_schema=obj({"url": STR}, "url"),
        response_schema=obj({"url": STR, "success": BOOL}, "url", "success"),
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/ttp/url/create-managed-url",
        handler=create_managed_url,
        summary="Add managed URLs (block or permit)",
        permission=_EDIT,
        read_only=False,
        request_schema=_URL_ITEM,
        response_schema=MANAGED_URL,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/ttp/url/get-all-managed-urls",
        handler=get_all_managed_urls,
        summary="The managed URLs, oldest first, paged",
        permission=_READ,
        read_only=True,
        request_schema=obj({"domainOrUrl": STR, "exactMatch": BOOL, "domain": STR}),
        response_schema=MANAGED_URL,
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/ttp/url/delete-managed-url",
        handler=delete_managed_url,
        summary="Remove managed URLs by id",
        permission=_EDIT,
        read_only=False,
        request_schema=obj({"id": STR}, "id"),
        response_schema=obj({"id": STR}, "id"),
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/ttp/url/get-logs",
        handler=get_logs,
        summary="URL Protect click logs between two dates, paged",
        permission=_READ,
        read_only=True,
        request_schema=obj(
            {
                "from": DATE,
                "to": DATE,
                "route": enum("all", "internal", "outbound", "inbound"),
                "scanResult": enum("all", "clean", "malicious"),
                "oldestFirst": BOOL,
            }
        ),
        response_schema=obj({"clickLogs": array(CLICK_LOG)}, "clickLogs"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
)
