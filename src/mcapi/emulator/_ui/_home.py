"""``GET /``: where a browser (or a curious client) lands first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from mcapi.emulator._state import EmulatorState
from mcapi.emulator._ui._pages import UI

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>mcapi emulator</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{ui}/static/dashboard.css">
</head>
<body class="login-body">
  <main class="login card">
    <h1>mcapi <span>emulator</span></h1>
    <p>An emulator of the Mimecast API. Point a client at this address; signed calls go to
      <code>POST /api/...</code>.</p>
    <ul>
      <li><a href="{ui}">The dashboard</a>: the live request journal, the clock, fault rules,
        users and quotas (it takes the admin token).</li>
      <li><a href="/_emulator/openapi.json">The OpenAPI document</a> of the functions it
        serves.</li>
      <li>The documentation: <code>docs/emulator.md</code> and <code>docs/dashboard.md</code> in
        the mcapi sources; <code>mcapi emulator --help</code>.</li>
    </ul>
  </main>
</body>
</html>
"""


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept


async def home(request: Request, state: EmulatorState) -> Response:
    """An HTML page for a browser (``Accept: text/html``), JSON for anything else."""
    if _wants_html(request):
        return HTMLResponse(_PAGE.format(ui=UI), headers={"cache-control": "no-store"})
    base = state.config.public_base_url
    return JSONResponse(
        {
            "service": "mcapi emulator",
            "api": f"{base}/api/",
            "dashboard": f"{base}{UI}",
            "openapi": f"{base}/_emulator/openapi.json",
            "health": f"{base}/_emulator/health",
            "docs": "docs/emulator.md and docs/dashboard.md in the mcapi sources",
        }
    )
