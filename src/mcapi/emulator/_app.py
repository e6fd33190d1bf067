"""The emulator's ASGI application.

The order of the checks a signed call passes is the tuple :data:`PIPELINE` below, in the order of
``docs/design/RESPONSE-CODES.md``; the first check that refuses decides the answer. Login and
discovery are unsigned and pass only :data:`UNSIGNED_PIPELINE` before their own handler
(``mcapi.emulator._login`` documents login's order). An API 2.0 call (``Authorization: Bearer``)
passes :data:`BEARER_PIPELINE`; ``POST /oauth/token`` issues its tokens (``mcapi.emulator._oauth``);
``/siem/v1/...`` are API 2.0's REST-style SIEM reads (``mcapi.emulator._siem_routes``).
``/_emulator/...`` is the admin API and the dashboard (``/_emulator/ui``); ``GET /`` points a
browser to the dashboard.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response
from starlette.types import Receive, Scope, Send

from mcapi._constants import DISCOVER_PATH, LOGIN_PATH
from mcapi.emulator._admin import admin_app
from mcapi.emulator._login import discover, login
from mcapi.emulator._oauth import TOKEN_PATH, token_endpoint
from mcapi.emulator._pipeline._access import check_faults, check_ip, check_permission, check_quota
from mcapi.emulator._pipeline._bearer import check_bearer
from mcapi.emulator._pipeline._binding import (
    check_access_key,
    check_revoked,
    check_signature,
    check_ttl,
    check_user_state,
)
from mcapi.emulator._pipeline._credentials import (
    check_credentials_present,
    check_developer_headers,
    check_realm,
)
from mcapi.emulator._pipeline._request import check_body, check_method, check_route
from mcapi.emulator._pipeline._runner import ApiEndpoint, Check
from mcapi.emulator._siem_routes import PREFIX as SIEM_PREFIX
from mcapi.emulator._siem_routes import SiemRestEndpoint
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._ui import home

#: The checks of a signed call, in order (RESPONSE-CODES.md, rows 1-15; row 16 runs the function).
PIPELINE: tuple[Check, ...] = (
    check_route,  # 1  404           unknown function
    check_method,  # 2  405           not POST
    check_body,  # 3  400           not a {"data": [...]} envelope
    check_credentials_present,  # 4  400 0001      no Authorization
    check_developer_headers,  # 5  400           x-mc-date / x-mc-req-id / x-mc-app-id missing
    check_realm,  # 6  401 0005      realm is not MC
    check_access_key,  # 7  401 0013      access key unknown
    check_revoked,  # 8  401 0012      binding revoked
    check_signature,  # 9  401 0004      HMAC, app id, date skew, replay
    check_user_state,  # 10 401 0011/0010 disabled / locked
    check_ttl,  # 11 418 0001      binding expired
    check_ip,  # 12 403 0016      address outside permitted ranges
    check_permission,  # 13 403 0002      permission missing
    check_quota,  # 14 429 0008      quota spent (function not run)
    check_faults,  # 15 fault rules
)

#: An API 2.0 call (Authorization: Bearer): the token replaces rows 4-11; the rest is the same.
BEARER_PIPELINE: tuple[Check, ...] = (
    check_route,
    check_method,
    check_body,
    check_bearer,  # 401 err_invalid_token   token unknown, expired, application revoked
    check_ip,
    check_permission,
    check_quota,
    check_faults,
)

#: Login and discovery: the method and body checks and fault rules; then their own handlers.
UNSIGNED_PIPELINE: tuple[Check, ...] = (check_method, check_body, check_faults)


_HOME_METHOD = "GET"  # HEAD and the rest go to the API, as before


class _Dispatch:
    """``/_emulator/...`` to the admin API, everything else to the API pipeline."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.api = ApiEndpoint(
            state, PIPELINE, UNSIGNED_PIPELINE, {DISCOVER_PATH: discover, LOGIN_PATH: login},
            BEARER_PIPELINE,
        )  # fmt: skip
        self.token = token_endpoint(state)
        self.siem = SiemRestEndpoint(state)
        self.admin = admin_app(state)

        async def answer_home(request: Request) -> Response:
            return await home(request, state)

        self.home = request_response(answer_home)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(SIEM_PREFIX):
            await self.siem(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == TOKEN_PATH:
            await self.token(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/" and scope["method"] == _HOME_METHOD:
            await self.home(scope, receive, send)
        elif scope["type"] == "http" and not scope["path"].startswith("/_emulator"):
            await self.api(scope, receive, send)
        else:
            await self.admin(scope, receive, send)


def create_app(state: EmulatorState) -> _Dispatch:
    """The ASGI application of an emulator state."""
    return _Dispatch(state)
