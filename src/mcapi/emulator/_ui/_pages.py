"""The dashboard's routes under ``/_emulator/ui``: pages, their htmx fragments and form posts.

Every route but the login page, the static files and ``POST /_emulator/ui/links`` (which takes
the admin token as a Bearer header) needs a session (``._auth``); every POST also needs the
session's CSRF token. A form that fails validation is answered 422 with the form again, its
problems shown next to it (htmx swaps 422 answers; other 4xx and 5xx are not swapped).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from mcapi.emulator._faults import FaultRule
from mcapi.emulator._journal import entry_code
from mcapi.emulator._operations import Admin, UnknownTarget
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._ui._auth import COOKIE, CSRF_FIELD, SESSION_SECONDS, UiAuth
from mcapi.emulator._ui._views import (
    JournalFilter,
    fault_document,
    iso,
    pretty_body,
    quota_document,
    quota_meters,
    short_key,
)
from mcapi.emulator._validation import InvalidInput

__all__ = ["UI", "ui_routes"]

#: Where the dashboard is served.
UI = "/_emulator/ui"

_SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


@dataclass(frozen=True)
class Visit:
    """Who is looking: the request, and the CSRF token its pages carry ('' for Bearer)."""

    request: Request
    csrf: str


Handler = Callable[[Visit], Awaitable[Response]]


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mcapi.emulator._ui", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = iso
    env.filters["clock_time"] = lambda epoch: iso(epoch)[11:19]
    env.filters["short_key"] = short_key
    env.filters["pretty"] = pretty_body
    env.globals["ui"] = UI
    return Jinja2Templates(env=env)


#: The largest form the dashboard reads (its forms are a few hundred bytes).
MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (what the pages and htmx send) as a dict;
    read once per request (Starlette caches the body); empty for anything else or too large."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request, public_url: str | None) -> bool:
    """A write's ``Origin`` (when the browser sends one) is the dashboard's own: the address
    the request reached, or the configured public one (``--public-url``, what a browser uses
    behind a reverse proxy that ends TLS or rewrites ``Host``)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    sent = _origin(origin)
    return sent == _origin(str(request.url)) or (
        public_url is not None and sent == _origin(public_url)
    )


class Dashboard:
    """The routes of one emulator state's dashboard."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.admin = Admin(state)
        self.auth = UiAuth(state)
        self.templates = _templates()

    # ---- rendering -------------------------------------------------------------------------------
    def render(self, visit: Visit, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        clock = self.state.clock.state()
        context.update(csrf=visit.csrf, clock=clock, now_iso=iso(float(str(clock["now"]))))
        response = self.templates.TemplateResponse(visit.request, name, context, status_code=status)
        response.headers.update(_SECURITY_HEADERS)
        return response

    def login_page(
        self, request: Request, problem: str | None = None, status: int = 200
    ) -> Response:
        response = self.templates.TemplateResponse(
            request, "login.html", {"problem": problem}, status_code=status
        )
        response.headers.update(_SECURITY_HEADERS)
        return response

    def _enter(self, request: Request) -> Response:
        """The answer that logs the browser in: a page that moves on to the dashboard by itself
        (a redirect after a link from elsewhere would not carry a SameSite=Strict cookie)."""
        response = self.templates.TemplateResponse(request, "enter.html", {})
        response.headers.update(_SECURITY_HEADERS)
        response.set_cookie(
            COOKIE, self.auth.new_session(), max_age=SESSION_SECONDS, path=UI, httponly=True,
            samesite="strict", secure=self._https(request),
        )  # fmt: skip
        return response

    def _https(self, request: Request) -> bool:
        """Whether the browser reaches the dashboard over https (directly, or through a proxy
        at the configured public URL)."""
        public = self.state.config.public_base_url or ""
        return request.url.scheme == "https" or public.lower().startswith("https://")

    # ---- the guard ---------------------------------------------------------------------------
    def guarded(self, handler: Handler, *, write: bool = False) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            if self.auth.bearer(request):
                return await handler(Visit(request, ""))
            nonce = self.auth.session(request)
            if nonce is None:
                login = f"{UI}/login"
                if _is_htmx(request):
                    return Response("login needed", 401, headers={"hx-redirect": login})
                if request.method == "GET":
                    return RedirectResponse(login, 303, headers=_SECURITY_HEADERS)
                return Response("login needed", 401, headers=_SECURITY_HEADERS)
            csrf = self.auth.csrf_token(nonce)
            if write:
                form = await read_form(request)
                token = form.get(CSRF_FIELD)
                if not _same_origin(
                    request, self.state.config.public_base_url
                ) or not self.auth.csrf_ok(request, nonce, token):
                    return Response(
                        "refused: the request does not carry this session's CSRF token",
                        403, headers=_SECURITY_HEADERS,
                    )  # fmt: skip
            return await handler(Visit(request, csrf))

        return endpoint

    # ---- login -------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            once = request.query_params.get("once")
            if once is None:
                return self.login_page(request)
            if self.auth.use_once(once):
                return self._enter(request)
            why = "This login link was used already or has expired. Paste the admin token."
            return self.login_page(request, why, 401)
        form = await read_form(request)
        token = form.get("token")
        if isinstance(token, str) and self.auth.token_matches(token):
            return self._enter(request)
        return self.login_page(request, "That is not this emulator's admin token.", 401)

    async def logout(self, visit: Visit) -> Response:
        response = RedirectResponse(f"{UI}/login", 303, headers=_SECURITY_HEADERS)
        response.delete_cookie(
            COOKIE, path=UI, httponly=True, samesite="strict", secure=self._https(visit.request)
        )
        return response

    async def links(self, request: Request) -> Response:
        """``POST /_emulator/ui/links`` (Bearer admin token): a new one-time login link."""
        if not self.auth.bearer(request):
            return JSONResponse(
                {"error": "the admin API needs Authorization: Bearer <admin token>"}, 401
            )
        path = f"{UI}/login?once={self.auth.once_ticket()}"
        return JSONResponse({"path": path, "url": f"{self.state.config.public_base_url}{path}"})

    # ---- journal -----------------------------------------------------------------------------
    async def journal(self, visit: Visit) -> Response:
        chosen = JournalFilter.from_query(visit.request.query_params)
        entries = self.state.journal.entries()
        newest = entries[-1].id if entries else ""
        return self.render(
            visit, "journal.html", page="journal", filters=chosen, rows=chosen.select(entries),
            newest=newest, whole=True,
        )  # fmt: skip

    async def journal_rows(self, visit: Visit) -> Response:
        """The rows that pass the filters; with ``after`` (the newest id the page has), only the
        newer ones, which the page puts on top: the rows it shows stay (and keep the focus).
        When ``after`` is gone from the journal (fallen off, or a reset), every row, replacing
        the page's (``HX-Reswap``)."""
        query = visit.request.query_params
        chosen = JournalFilter.from_query(query)
        entries = self.state.journal.entries()
        after = query.get("after", "")
        ids = [e.id for e in entries]
        whole = not after or after not in ids
        fresh = entries if whole else entries[ids.index(after) + 1 :]
        response = self.render(
            visit, "_rows.html", rows=chosen.select(fresh), filters=chosen,
            newest=ids[-1] if ids else "", oob=True, whole=whole,
        )  # fmt: skip
        if whole:
            response.headers["hx-reswap"] = "innerHTML"
        return response

    async def journal_entry(self, visit: Visit) -> Response:
        entry_id = visit.request.path_params["entry_id"]
        entry = self.state.journal.get(entry_id)
        status = 200 if entry is not None else 404
        code = entry_code(entry) if entry is not None else None
        name = "_entry.html" if _is_htmx(visit.request) else "entry.html"
        return self.render(
            visit, name, status, page="journal", entry=entry, code=code, entry_id=entry_id
        )

    # ---- clock -------------------------------------------------------------------------------
    async def clock(self, visit: Visit) -> Response:
        return self.render(visit, "clock.html", page="clock", problems=())

    async def clock_change(self, visit: Visit) -> Response:
        form = await read_form(visit.request)
        action = str(form.get("action", ""))
        body: dict[str, Any] = {}
        problems: tuple[Any, ...] = ()
        if action in ("freeze", "resume", "reset"):
            body[action] = True
        elif action == "advance":
            text = str(form.get("seconds", "")).strip()
            body["advance"] = _float_or_text(text)
        elif action == "set":
            body["set"] = str(form.get("to", "")).strip()
        try:
            self.admin.change_clock(body)
        except InvalidInput as exc:
            problems = exc.problems
        status = 422 if problems else 200
        partial = _is_htmx(visit.request)
        name = "_clock.html" if partial else "clock.html"
        return self.render(visit, name, status, page="clock", problems=problems, partial=partial)

    # ---- faults and forced quotas ------------------------------------------------------------
    def _faults(self, visit: Visit, status: int = 200, **forms: Any) -> Response:
        rules = self.state.faults.state()
        context: dict[str, Any] = {"fault_form": {}, "fault_problems": (), "quota_form": {},
                                   "quota_problems": ()}  # fmt: skip
        context.update(forms)
        name = "_faults.html" if _is_htmx(visit.request) else "faults.html"
        return self.render(visit, name, status, page="faults", rules=rules, **context)

    async def faults(self, visit: Visit) -> Response:
        return self._faults(visit)

    async def fault_add(self, visit: Visit) -> Response:
        form = await read_form(visit.request)
        quota = visit.request.url.path.endswith("/quota")
        try:
            document = quota_document(form) if quota else fault_document(form)
            self.state.faults.add(FaultRule.from_dict(document))
        except InvalidInput as exc:
            which = "quota" if quota else "fault"
            return self._faults(
                visit, 422, **{f"{which}_form": form, f"{which}_problems": exc.problems}
            )
        return self._faults(visit)

    async def fault_remove(self, visit: Visit) -> Response:
        rule_id = visit.request.path_params["rule_id"]
        try:
            self.state.faults.remove(rule_id)
        except KeyError:
            problem = InvalidInput("rule_id", f"no rule {rule_id} (removed already?)")
            return self._faults(visit, 422, fault_problems=problem.problems)
        return self._faults(visit)

    # ---- users and bindings ------------------------------------------------------------------
    def _users(self, visit: Visit, status: int = 200, problems: tuple[Any, ...] = ()) -> Response:
        store, now = self.state.store, self.state.clock.now()
        accounts = {a.id: a for a in store.list_accounts()}
        users = []
        for u in self.admin.users():
            bindings = store.list_bindings(u.id)
            refs = [self.auth.binding_ref(b.access_key) for b in bindings]
            users.append({
                "user": u, "account": accounts.get(u.account_id), "locked": u.locked(now),
                "bindings": bindings, "refs": refs,
            })  # fmt: skip
        name = "_users.html" if _is_htmx(visit.request) else "users.html"
        return self.render(
            visit, name, status, page="users", users=users, now=now, problems=problems
        )

    async def users(self, visit: Visit) -> Response:
        return self._users(visit)

    async def user_action(self, visit: Visit) -> Response:
        params = visit.request.path_params
        email, action = params["email"], params["action"]
        form = await read_form(visit.request)
        try:
            if action == "lock":
                minutes = _float_or_text(str(form.get("minutes", "15")).strip() or "15")
                self.admin.lock_user(email, minutes)
            elif action == "unlock":
                self.admin.unlock_user(email)
            elif action == "revoke-bindings":
                self.admin.revoke_bindings(email)
            elif action == "expire-binding":
                self._expire(email, str(form.get("binding", "")))
            else:
                raise UnknownTarget("action", f"unknown action {action!r}")
        except (InvalidInput, ValueError) as exc:
            problems = exc.problems if isinstance(exc, InvalidInput) else ()
            if not problems:
                problems = InvalidInput("", str(exc)).problems
            return self._users(visit, 422, problems)
        return self._users(visit)

    def _expire(self, email: str, ref: str) -> None:
        """Expire the user's binding named ``ref`` (``UiAuth.binding_ref``: the pages never carry
        access keys, and a position in the list would move when a login adds a binding)."""
        user = self.admin.user(email)
        for binding in self.state.store.list_bindings(user.id):
            if hmac.compare_digest(self.auth.binding_ref(binding.access_key), ref):
                self.admin.expire_binding(binding.access_key)
                return
        raise UnknownTarget("binding", f"{email} has no binding {ref[:40]!r}")

    # ---- quotas ------------------------------------------------------------------------------
    async def quotas(self, visit: Visit) -> Response:
        forced = [r for r in self.state.faults.state() if r.get("at") == "quota"]
        return self.render(
            visit, "quotas.html", page="quotas", accounts=quota_meters(self.state), forced=forced
        )

    # ---- routes ------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        g = self.guarded
        return [
            Route(UI, g(self.journal)),
            Route(f"{UI}/", g(self.journal)),
            Route(f"{UI}/login", self.login, methods=["GET", "POST"]),
            Route(f"{UI}/logout", g(self.logout, write=True), methods=["POST"]),
            Route(f"{UI}/links", self.links, methods=["POST"]),
            Route(f"{UI}/journal/rows", g(self.journal_rows)),
            Route(f"{UI}/journal/{{entry_id}}", g(self.journal_entry)),
            Route(f"{UI}/clock", g(self.clock)),
            Route(f"{UI}/clock", g(self.clock_change, write=True), methods=["POST"]),
            Route(f"{UI}/faults", g(self.faults)),
            Route(f"{UI}/faults", g(self.fault_add, write=True), methods=["POST"]),
            Route(f"{UI}/faults/quota", g(self.fault_add, write=True), methods=["POST"]),
            Route(
                f"{UI}/faults/{{rule_id}}/remove",
                g(self.fault_remove, write=True),
                methods=["POST"],
            ),
            Route(f"{UI}/users", g(self.users)),
            Route(
                f"{UI}/users/{{email}}/{{action}}",
                g(self.user_action, write=True),
                methods=["POST"],
            ),
            Route(f"{UI}/quotas", g(self.quotas)),
            Mount(
                f"{UI}/static",
                StaticFiles(packages=[("mcapi.emulator._ui", "static")]),
                name="ui-static",
            ),
        ]


def _float_or_text(text: str) -> Any:
    """A number typed in a form, or the text as typed (the validation names what is wrong)."""
    try:
        return float(text)
    except ValueError:
        return text


def ui_routes(state: EmulatorState) -> list[BaseRoute]:
    """The dashboard's routes for ``state`` (mounted by the admin app)."""
    return Dashboard(state).routes()


def login_path(state: EmulatorState) -> str:
    """A one-time login path (``/_emulator/ui/login?once=...``) for ``serve``'s banner."""
    return f"{UI}/login?once={quote(UiAuth(state).once_ticket(), safe='.-_')}"
