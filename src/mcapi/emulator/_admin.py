"""The admin API under ``/_emulator/``: what a test or an operator does to the emulator itself.

Every route but ``health`` and ``openapi.json`` needs ``Authorization: Bearer <admin token>``.
Answers are JSON; a bad request answers 400 ``{"error": "..."}`` naming what is wrong.

    GET    /_emulator/health                      liveness, no token
    GET    /_emulator/openapi.json                the functions' OpenAPI document, no token
    POST   /_emulator/reset                       empty every table, clear faults, journal, quotas
    POST   /_emulator/seed                        load a seed document (JSON, or TOML by type)
    GET    /_emulator/clock                       {"now", "iso", "frozen"}
    POST   /_emulator/clock                       {"freeze": true} | {"resume": true} |
                                                  {"set": epoch or ISO 8601} | {"advance": seconds}
                                                  | {"reset": true}
    GET    /_emulator/faults                      the rules with their call counts
    POST   /_emulator/faults                      add a rule (docs/faults.md), returns its id
    DELETE /_emulator/faults[/{id}]               remove one rule, or all
    GET    /_emulator/quotas/forced               deterministic 429 rules
    POST   /_emulator/quotas/forced               {"path", "call_number", "reset_ms", "user"?}
    DELETE /_emulator/quotas/forced[/{id}]
    GET    /_emulator/journal                     ?limit=&path=&status=&request_id=&since=
                                                  &format=jsonl
    GET    /_emulator/users                       every user (no secrets)
    POST   /_emulator/users/{email}/{operation}   lock {"minutes"} | unlock | disable | enable |
                                                  expire-password | password {"password"} |
                                                  permissions {"permissions"} |
                                                  ip-ranges {"ranges"} | revoke-bindings |
                                                  bindings {"app_id"?, "ttl_seconds"?}
    POST   /_emulator/accounts/{code}/policy      account policy fields (lockout, TTL, quotas...)
    POST   /_emulator/accounts/{code}/generate    {"seed", "users", "days",
                                                  "messages_per_user_day"?}: fill the account
                                                  with deterministic messages, events, clicks
"""

from __future__ import annotations

import hmac
import json
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mcapi.emulator._data import generate
from mcapi.emulator._faults import FaultRule
from mcapi.emulator._ratelimit import ForcedQuotaRule
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._store import SeedError, StoreError, User, apply_seed

Endpoint = Callable[[Request], Awaitable[Response]]


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _user_view(user: User) -> dict[str, Any]:
    data = asdict(user)
    data.pop("password_hash", None)
    data["auth_types"] = list(user.auth_types)
    data["permissions"] = list(user.permissions)
    data["ip_ranges"] = None if user.ip_ranges is None else list(user.ip_ranges)
    return data


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise AdminError(f"the body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise AdminError("the body must be a JSON object")
    return document


def admin_app(state: EmulatorState) -> Starlette:
    """The Starlette app serving ``/_emulator/...`` for ``state``."""

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
            except AdminError as exc:
                return JSONResponse({"error": str(exc)}, exc.status)
            except (SeedError, StoreError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, 400)

        return wrapper

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "now": state.clock.now()})

    async def openapi(request: Request) -> Response:
        from mcapi.emulator.functions._openapi import build_openapi

        return JSONResponse(build_openapi(state.functions))

    async def reset(request: Request) -> Response:
        state.store.reset()
        state.clock.reset()
        state.limiter.reset()
        state.forced_quotas.clear()
        state.faults.clear()
        state.journal.clear()
        state.replay.reset()
        return JSONResponse({"reset": True})

    async def seed(request: Request) -> Response:
        raw = await request.body()
        if "toml" in request.headers.get("content-type", ""):
            try:
                document: Any = tomllib.loads(raw.decode("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise AdminError(f"the seed is not TOML: {exc}") from exc
        else:
            document = await _json_body(request)
        summary = apply_seed(state.store, document, now=state.clock.now())
        return JSONResponse(
            {"created": summary.counts(), "generated_passwords": dict(summary.generated_passwords)}
        )

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            _apply_clock(state, await _json_body(request))
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

    async def forced(request: Request) -> Response:
        if request.method == "POST":
            rule = ForcedQuotaRule.from_dict(await _json_body(request))
            return JSONResponse({"id": state.forced_quotas.add(rule)}, 201)
        if request.method == "DELETE":
            forced_id: str | None = request.path_params.get("rule_id")
            if forced_id is None:
                state.forced_quotas.clear()
            else:
                _remove(state.forced_quotas.remove, forced_id)
            return JSONResponse({"deleted": forced_id or "all"})
        return JSONResponse({"rules": [r.to_dict() for r in state.forced_quotas.list()]})

    async def journal(request: Request) -> Response:
        query = request.query_params
        try:
            entries = state.journal.entries(
                limit=int(query["limit"]) if "limit" in query else None,
                path=query.get("path"),
                status=int(query["status"]) if "status" in query else None,
                since=float(query["since"]) if "since" in query else None,
                request_id=query.get("request_id"),
            )
        except ValueError as exc:
            raise AdminError(f"bad journal query: {exc}") from exc
        if query.get("format") == "jsonl":
            return PlainTextResponse(
                state.journal.to_jsonl(entries), media_type="application/x-ndjson"
            )
        return JSONResponse({"entries": [e.to_dict() for e in entries]})

    async def users(request: Request) -> Response:
        found = [
            _user_view(u)
            for account in state.store.list_accounts()
            for u in state.store.list_users(account.id)
        ]
        return JSONResponse({"users": found})

    async def user_operation(request: Request) -> Response:
        email = request.path_params["email"]
        user = state.store.find_user(email)
        if user is None:
            raise AdminError(f"no user {email}", 404)
        body = await _json_body(request)
        result = _user_operation(state, user, request.path_params["operation"], body)
        return JSONResponse(result)

    async def account_policy(request: Request) -> Response:
        code = request.path_params["code"]
        account = state.store.find_account(code)
        if account is None:
            raise AdminError(f"no account {code}", 404)
        updated = state.store.update_account_policy(account.id, **await _json_body(request))
        view = {f: getattr(updated, f) for f in updated.__dataclass_fields__}
        view["function_quotas"] = {
            p: {"limit": q.limit, "reset_ms": q.reset_ms}
            for p, q in updated.function_quotas.items()
        }
        view["permitted_ip_ranges"] = list(updated.permitted_ip_ranges)
        return JSONResponse(view)

    async def generate_data(request: Request) -> Response:
        code = request.path_params["code"]
        account = state.store.find_account(code)
        if account is None:
            raise AdminError(f"no account {code}", 404)
        body = await _json_body(request)
        summary = generate_tenant(state, account.id, body)
        return JSONResponse({"generated": summary})

    routes = [
        Route("/_emulator/health", health),
        Route("/_emulator/openapi.json", openapi),
        Route("/_emulator/reset", guarded(reset), methods=["POST"]),
        Route("/_emulator/seed", guarded(seed), methods=["POST"]),
        Route("/_emulator/clock", guarded(clock), methods=["GET", "POST"]),
        Route("/_emulator/faults", guarded(faults), methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/faults/{rule_id}", guarded(faults), methods=["DELETE"]),
        Route("/_emulator/quotas/forced", guarded(forced), methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/quotas/forced/{rule_id}", guarded(forced), methods=["DELETE"]),
        Route("/_emulator/journal", guarded(journal)),
        Route("/_emulator/users", guarded(users)),
        Route("/_emulator/users/{email}/{operation}", guarded(user_operation), methods=["POST"]),
        Route("/_emulator/accounts/{code}/policy", guarded(account_policy), methods=["POST"]),
        Route("/_emulator/accounts/{code}/generate", guarded(generate_data), methods=["POST"]),
    ]
    return Starlette(routes=routes)


#: Upper bounds of one generation request (a week of a 500-user tenant takes about 3 s).
MAX_GENERATE_USERS = 5000
MAX_GENERATE_DAYS = 30


def generate_tenant(state: EmulatorState, account_id: int, body: dict[str, Any]) -> dict[str, int]:
    """Validate a generation request and run the deterministic generator."""
    known = {"seed", "users", "days", "messages_per_user_day"}
    if set(body) - known:
        raise AdminError(f"generate: unknown field(s) {sorted(set(body) - known)}")
    values = {"seed": 1, "users": 50, "days": 7, "messages_per_user_day": 20} | body
    limits = {"users": MAX_GENERATE_USERS, "days": MAX_GENERATE_DAYS, "messages_per_user_day": 500}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise AdminError(f"generate: {name} must be a whole number")
        if name in limits and not 0 <= value <= limits[name]:
            raise AdminError(f"generate: {name} must be between 0 and {limits[name]}")
    summary = generate(
        state.store, account_id, seed=values["seed"], users=values["users"], days=values["days"],
        now=state.clock.now(), messages_per_user_day=values["messages_per_user_day"],
    )  # fmt: skip
    return summary.counts()


def _remove(remove: Callable[[str], None], rule_id: str) -> None:
    try:
        remove(rule_id)
    except KeyError as exc:
        raise AdminError(f"no rule {rule_id}", 404) from exc


def _apply_clock(state: EmulatorState, body: dict[str, Any]) -> None:
    clock = state.clock
    if body.get("reset"):
        clock.reset()
    if body.get("freeze"):
        clock.freeze()
    if "set" in body:
        clock.set(_instant(body["set"]))
    if "advance" in body:
        seconds = body["advance"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise AdminError("advance: a number of seconds, 0 or more")
        clock.advance(float(seconds))
    if body.get("resume"):
        clock.resume()
    known = {"reset", "freeze", "set", "advance", "resume"}
    if not body or set(body) - known:
        raise AdminError(f"clock: give one or more of {', '.join(sorted(known))}")


def _instant(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise AdminError(f"set: {value!r} is not an ISO 8601 time") from exc
        if moment.tzinfo is None:
            raise AdminError("set: give a time zone (e.g. 2026-01-01T00:00:00Z)")
        return moment.timestamp()
    raise AdminError("set: epoch seconds or an ISO 8601 time")


def _user_operation(
    state: EmulatorState, user: User, operation: str, body: dict[str, Any]
) -> dict[str, Any]:
    store = state.store
    now = state.clock.now()
    if operation == "bindings":
        return _create_binding(state, user, body)
    if operation == "revoke-bindings":
        return {"revoked": store.revoke_bindings(user.id, "revoked by an administrator")}
    operations: dict[str, Callable[[], User]] = {
        "lock": lambda: store.lock_user(user.id, now + 60 * float(body.get("minutes", 15))),
        "unlock": lambda: store.unlock_user(user.id),
        "disable": lambda: store.set_user_status(user.id, "disabled"),
        "enable": lambda: store.set_user_status(user.id, "active"),
        "expire-password": lambda: store.expire_password(user.id, now),
        "password": lambda: store.set_password(user.id, _required(body, "password")),
        "permissions": lambda: store.set_permissions(user.id, _required(body, "permissions")),
        "ip-ranges": lambda: store.set_ip_ranges(user.id, body.get("ranges")),
    }
    action = operations.get(operation)
    if action is None:
        raise AdminError(
            f"unknown operation {operation!r}; one of "
            f"{', '.join(sorted([*operations, 'bindings', 'revoke-bindings']))}",
            404,
        )
    return {"user": _user_view(action())}


def _required(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise AdminError(f"{name}: required")
    return body[name]


def _create_binding(state: EmulatorState, user: User, body: dict[str, Any]) -> dict[str, Any]:
    store = state.store
    account = store.get_account(user.account_id)
    assert account is not None
    app_id = body.get("app_id")
    if app_id is None:
        apps = store.list_applications(account.id)
        if not apps:
            raise AdminError("the account has no application; give app_id")
        app_id = apps[0].app_id
    elif store.get_application(str(app_id)) is None:
        raise AdminError(f"no application {app_id}", 404)
    ttl = body.get("ttl_seconds", account.binding_ttl_seconds)
    binding = store.create_binding(user.id, str(app_id), now=state.clock.now(), ttl_seconds=ttl)
    return {
        "access_key": binding.access_key,
        "secret_key": binding.secret_key,
        "app_id": binding.app_id,
        "expires_at": binding.expires_at,
    }
