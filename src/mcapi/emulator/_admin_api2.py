"""The admin API's API 2.0 routes (``/_emulator/api2/...``), beside :mod:`._admin`'s.

GET    /_emulator/api2/apps[?account=CODE]          the applications (no secrets)
POST   /_emulator/api2/apps                          {"account", "name", "role"?,
                                                     "permissions"?, "products"?,
                                                     "client_id"?, "client_secret"?} -> 201
                                                     {"client_id", "client_secret",
                                                     "application"}: the secret shown once
POST   /_emulator/api2/apps/{client_id}/rotate      {"client_secret"?} -> the new secret
POST   /_emulator/api2/apps/{client_id}/revoke      its tokens are refused at once
POST   /_emulator/api2/apps/{client_id}/role        {"role", "permissions"?}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcapi.emulator._admin import _json_body, _only, _required
from mcapi.emulator._operations import Admin

__all__ = ["api2_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]
_CREATE = ("account", "name", "role", "permissions", "products", "client_id", "client_secret")


def api2_routes(admin: Admin, guarded: Callable[[Endpoint], Endpoint]) -> list[Route]:
    """The routes, each behind the admin token (``guarded``)."""

    async def apps(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            _only(body, "create", _CREATE)
            keys = admin.create_app(
                _required(body, "account"), _required(body, "name"),
                **{k: v for k, v in body.items() if k not in ("account", "name")},
            )  # fmt: skip
            return JSONResponse(keys.to_dict(), 201)
        listed = admin.apps(request.query_params.get("account"))
        return JSONResponse({"apps": [a.to_dict() for a in listed]})

    async def rotate(request: Request) -> Response:
        body = await _json_body(request)
        _only(body, "rotate", ("client_secret",))
        keys = admin.rotate_app_secret(request.path_params["client_id"], body.get("client_secret"))
        return JSONResponse(keys.to_dict())

    async def revoke(request: Request) -> Response:
        _only(await _json_body(request), "revoke", ())
        return JSONResponse(
            {"application": admin.revoke_app(request.path_params["client_id"]).to_dict()}
        )

    async def role(request: Request) -> Response:
        body = await _json_body(request)
        _only(body, "role", ("role", "permissions"))
        app = admin.set_app_role(
            request.path_params["client_id"], _required(body, "role"), body.get("permissions")
        )
        return JSONResponse({"application": app.to_dict()})

    return [
        Route("/_emulator/api2/apps", guarded(apps), methods=["GET", "POST"]),
        Route("/_emulator/api2/apps/{client_id}/rotate", guarded(rotate), methods=["POST"]),
        Route("/_emulator/api2/apps/{client_id}/revoke", guarded(revoke), methods=["POST"]),
        Route("/_emulator/api2/apps/{client_id}/role", guarded(role), methods=["POST"]),
    ]
