"""The admin API under ``/_emulator/``: what a test or an operator does to the emulator itself.

Every route but ``health``, ``ready`` and ``openapi.json`` needs ``Authorization: Bearer <admin
token>``. Answers are JSON; a bad request answers 400 ``{"error": "...", "problems": [{"field",
"message"}, ...]}`` naming each field that is wrong (an unknown user, account, application or
rule: 404, in the same form), and nothing is changed. ``error`` is every problem in one line.
The routes only parse and render: the operations are :class:`mcapi.emulator._operations.Admin`'s,
the same ones ``Emulator.admin`` offers Python code.

    GET    /_emulator/health                      liveness, no token
    GET    /_emulator/ready                       readiness: 200 when the database and Redis
                                                  answer, 503 naming what does not; no token
    GET    /_emulator/openapi.json                the functions' OpenAPI document, no token
    POST   /_emulator/reset                       empty every table, clear faults, journal, quotas
                                                  (a served emulator's admin token is kept);
                                                  {"demo": true}: then load the demo tenant
                                                  afresh and answer its new credentials
    POST   /_emulator/seed                        load a seed document (JSON, or TOML by type),
                                                  then generate what its generate tables ask
    GET    /_emulator/jobs[/{id}]                 the jobs reset, seed and generate run as
                                                  (:mod:`._jobs`): 202 + Location, ?wait=S
    GET    /_emulator/clock                       {"now", "iso", "frozen"}
    POST   /_emulator/clock                       {"freeze": true} | {"resume": true} |
                                                  {"set": epoch or ISO 8601} | {"advance": seconds}
                                                  | {"reset": true}
    GET    /_emulator/faults                      the rules with their call counts
    POST   /_emulator/faults                      add a rule (docs/faults.md), returns its id;
                                                  a forced quota is a rule with "at": "quota"
    DELETE /_emulator/faults[/{id}]               remove one rule, or all
    GET    /_emulator/journal                     ?limit=&path=&status=&request_id=&since=
                                                  &format=jsonl (no headers or bodies)
    GET    /_emulator/journal/{id}                one entry in full: headers, bodies, and the
                                                  catalogue's entry for its code
    GET    /_emulator/users                       every user (no secrets)
    POST   /_emulator/users/{email}/{operation}   lock {"minutes"} | unlock | disable | enable |
                                                  expire-password | password {"password"} |
                                                  permissions {"permissions"} |
                                                  ip-ranges {"ranges": [...] or null} |
                                                  revoke-bindings |
                                                  bindings {"app_id"?, "ttl_seconds"?}
    POST   /_emulator/bindings/{access_key}/expire  expire one binding now (calls get 418 0001
                                                  until a login refreshes it)
    POST   /_emulator/accounts/{code}/policy      account policy fields (lockout, TTL, quotas...)
    GET    /_emulator/api2/apps ...               API 2.0 applications (see ._admin_api2)
    GET    /_emulator/ui ...                      the dashboard (see ._ui; a browser session)
    POST   /_emulator/ui/links                    a one-time login link for the dashboard
    POST   /_emulator/accounts/{code}/generate    {"seed", "users", "days",
                                                  "messages_per_user_day"?}: fill the account
                                                  with deterministic messages, events, clicks
"""

from __future__ import annotations

import hmac
import json
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mcapi.emulator._faults import FaultRule
from mcapi.emulator._jobs import Progress, job_response, job_routes
from mcapi.emulator._journal import entry_code
from mcapi.emulator._operations import Admin, AdminError, BindingKeys, UnknownTarget
from mcapi.emulator._readiness import Readiness
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._store import Account, StoreError, User
from mcapi.emulator._store._seed_plan import generate_plan, validate_seed
from mcapi.emulator._validation import InvalidInput, Problems, known_fields

__all__ = ["AdminError", "admin_app"]

Endpoint = Callable[[Request], Awaitable[Response]]
Body = dict[str, Any]


def _user_view(user: User) -> dict[str, Any]:
    data = asdict(user)
    data.pop("password_hash", None)
    data["auth_types"] = list(user.auth_types)
    data["permissions"] = list(user.permissions)
    data["ip_ranges"] = None if user.ip_ranges is None else list(user.ip_ranges)
    return data


def _account_view(account: Account) -> dict[str, Any]:
    view = {f: getattr(account, f) for f in account.__dataclass_fields__}
    view["function_quotas"] = {
        p: {"limit": q.limit, "reset_ms": q.reset_ms} for p, q in account.function_quotas.items()
    }
    view["permitted_ip_ranges"] = list(account.permitted_ip_ranges)
    return view


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


async def _json_body(request: Request) -> Body:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("", f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInput("", "the body must be a JSON object")
    return document


def _only(body: Mapping[str, Any], what: str, known: tuple[str, ...]) -> None:
    allowed = f"{what} takes {', '.join(known)}" if known else f"{what} takes no field"
    known_fields(body, known, hint=allowed)


def _required(body: Mapping[str, Any], name: str) -> Any:
    if name not in body:
        raise InvalidInput(name, "required")
    return body[name]


_UserOperation = Callable[[Admin, str, Body], "User | int | BindingKeys"]

#: operation of POST /_emulator/users/{email}/{operation} -> (body fields, call)
USER_OPERATIONS: dict[str, tuple[tuple[str, ...], _UserOperation]] = {
    "lock": (("minutes",), lambda a, e, b: a.lock_user(e, b.get("minutes", 15))),
    "unlock": ((), lambda a, e, b: a.unlock_user(e)),
    "disable": ((), lambda a, e, b: a.disable_user(e)),
    "enable": ((), lambda a, e, b: a.enable_user(e)),
    "expire-password": ((), lambda a, e, b: a.expire_password(e)),
    "password": (("password",), lambda a, e, b: a.set_password(e, _required(b, "password"))),
    "permissions": (
        ("permissions",),
        lambda a, e, b: a.set_permissions(e, _required(b, "permissions")),
    ),
    "ip-ranges": (("ranges",), lambda a, e, b: a.set_ip_ranges(e, _required(b, "ranges"))),
    "revoke-bindings": ((), lambda a, e, b: a.revoke_bindings(e)),
    "bindings": (("app_id", "ttl_seconds"), lambda a, e, b: a.create_binding(e, **b)),
}


def _user_answer(result: User | int | BindingKeys) -> dict[str, Any]:
    if isinstance(result, User):
        return {"user": _user_view(result)}
    if isinstance(result, BindingKeys):
        return result.to_dict()
    return {"revoked": result}


def admin_app(state: EmulatorState) -> Starlette:
    """The Starlette app serving ``/_emulator/...`` for ``state``."""
    from mcapi.emulator._admin_api2 import api2_routes  # it reads this module's helpers
    from mcapi.emulator._ui import ui_routes

    admin = Admin(state)

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def wrapper(request: Request) -> Response:
            token = state.config.admin_token
            given = request.headers.get("authorization", "")
            given = given[7:] if given.lower().startswith("bearer ") else ""
            if not token or not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse(
                    {"error": "the admin API needs Authorization: Bearer <admin token>"}, 401
                )
            try:
                return await endpoint(request)
            except InvalidInput as exc:
                return JSONResponse(exc.to_dict(), exc.status)
            except (StoreError, ValueError) as exc:  # the store's own refusals
                status = 404 if isinstance(exc, LookupError) else 400
                return JSONResponse(InvalidInput("", str(exc)).to_dict(), status)
            except (
                TypeError,
                OverflowError,
            ) as exc:  # a value no check foresaw: still the caller's
                return JSONResponse(InvalidInput("", f"bad request: {exc}").to_dict(), 400)

        return wrapper

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "now": state.clock.now()})

    readiness = Readiness(state.store, state.redis_url)

    async def ready(request: Request) -> Response:
        status, body = await readiness.answer()
        return JSONResponse(body, status)

    async def openapi(request: Request) -> Response:
        from mcapi.emulator.functions._openapi import build_openapi

        return JSONResponse(build_openapi(state.functions))

    async def reset(request: Request) -> Response:
        body = await _json_body(request)
        _only(body, "reset", ("demo",))
        demo = body.get("demo", False)
        if not isinstance(demo, bool):
            raise InvalidInput("demo", "must be true or false")
        return await job_response(state.jobs, request, "reset", lambda p: admin.reset(p, demo=demo))

    async def seed(request: Request) -> Response:
        raw = await request.body()
        if "toml" in request.headers.get("content-type", ""):
            try:
                document: Any = tomllib.loads(raw.decode("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise InvalidInput("", f"the seed is not TOML: {exc}") from exc
        else:
            document = await _json_body(request)
        validate_seed(document)  # a bad document is refused now, before any job

        def load(progress: Progress) -> Body:
            summary = admin.seed(document, progress)
            return {
                "created": summary.counts(),
                "generated_passwords": dict(summary.generated_passwords),
                "generated_client_secrets": dict(summary.generated_client_secrets),
                "generated": {code: dict(counts) for code, counts in summary.generated.items()},
            }

        return await job_response(state.jobs, request, "seed", load)

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            return JSONResponse(admin.change_clock(await _json_body(request)))
        return JSONResponse(state.clock.state())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            rule = FaultRule.from_dict(await _json_body(request))
            return JSONResponse({"id": state.faults.add(rule)}, 201)
        if request.method == "DELETE":
            rule_id: str | None = request.path_params.get("rule_id")
            if rule_id is None:
                state.faults.clear()
            else:
                _remove(state.faults.remove, rule_id)
            return JSONResponse({"deleted": rule_id or "all"})
        return JSONResponse({"rules": state.faults.state()})

    async def journal(request: Request) -> Response:
        query = request.query_params
        numbers: dict[str, Any] = {}
        problems = Problems()
        for name, kind in (("limit", int), ("status", int), ("since", float)):
            if name in query:
                try:
                    numbers[name] = kind(query[name])
                except ValueError:
                    problems.add(name, f"bad journal query: not a number: {query[name]!r}")
        problems.raise_if_any()
        entries = state.journal.entries(
            **numbers, path=query.get("path"), request_id=query.get("request_id")
        )
        if query.get("format") == "jsonl":
            return PlainTextResponse(
                state.journal.to_jsonl(entries, exchange=False), media_type="application/x-ndjson"
            )
        return JSONResponse({"entries": [e.to_dict(exchange=False) for e in entries]})

    async def journal_entry(request: Request) -> Response:
        entry_id = request.path_params["entry_id"]
        found = state.journal.get(entry_id)
        if found is None:
            raise UnknownTarget("id", f"no journal entry {entry_id} (never, or fallen off)")
        code = entry_code(found)
        return JSONResponse(
            {"entry": found.to_dict(), "code": None if code is None else code.to_dict()}
        )

    async def users(request: Request) -> Response:
        return JSONResponse({"users": [_user_view(u) for u in admin.users()]})

    async def user_operation(request: Request) -> Response:
        name = request.path_params["operation"]
        if name not in USER_OPERATIONS:
            known = ", ".join(sorted(USER_OPERATIONS))
            raise UnknownTarget("operation", f"unknown operation {name!r}; one of {known}")
        fields, operate = USER_OPERATIONS[name]
        body = await _json_body(request)
        _only(body, name, fields)
        return JSONResponse(_user_answer(operate(admin, request.path_params["email"], body)))

    async def expire_binding(request: Request) -> Response:
        return JSONResponse(admin.expire_binding(request.path_params["access_key"]))

    async def account_policy(request: Request) -> Response:
        body = await _json_body(request)
        updated = admin.set_policy(request.path_params["code"], **body)
        return JSONResponse(_account_view(updated))

    async def generate(request: Request) -> Response:
        plan = generate_plan(await _json_body(request), "")
        code = admin.account(request.path_params["code"]).account_code  # 404 before any job

        def fill(progress: Progress) -> Body:
            return {"generated": admin.generate(code, **plan.as_kwargs(), progress=progress)}

        return await job_response(state.jobs, request, "generate", fill)

    jobs, job = job_routes(state.jobs)
    routes = [
        Route("/_emulator/health", health),
        Route("/_emulator/ready", ready),
        Route("/_emulator/jobs", guarded(jobs)),
        Route("/_emulator/jobs/{job_id}", guarded(job)),
        Route("/_emulator/openapi.json", openapi),
        Route("/_emulator/reset", guarded(reset), methods=["POST"]),
        Route("/_emulator/seed", guarded(seed), methods=["POST"]),
        Route("/_emulator/clock", guarded(clock), methods=["GET", "POST"]),
        Route("/_emulator/faults", guarded(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/faults/{rule_id}", guarded(faults), methods=["DELETE"]),
        Route("/_emulator/journal", guarded(journal)),
        Route("/_emulator/journal/{entry_id}", guarded(journal_entry)),
        Route("/_emulator/users", guarded(users)),
        Route("/_emulator/users/{email}/{operation}", guarded(user_operation), methods=["POST"]),
        Route("/_emulator/bindings/{access_key}/expire", guarded(expire_binding), methods=["POST"]),
        Route("/_emulator/accounts/{code}/policy", guarded(account_policy), methods=["POST"]),
        Route("/_emulator/accounts/{code}/generate", guarded(generate), methods=["POST"]),
        *api2_routes(admin, guarded),
        *ui_routes(state),
    ]
    return Starlette(routes=routes)


def _remove(remove: Callable[[str], None], rule_id: str) -> None:
    try:
        remove(rule_id)
    except KeyError as exc:
        raise UnknownTarget("rule_id", f"no rule {rule_id}") from exc
