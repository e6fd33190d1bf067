"""The emulator's web dashboard under ``/_emulator/ui`` (docs/dashboard.md), and ``GET /``.

``._auth`` turns the admin token into a browser session (one-time links, the login form, CSRF),
``._views`` builds what the pages show from the emulator's state, ``._pages`` holds the routes,
``templates/`` the Jinja2 pages and ``static/`` the stylesheet and htmx (vendored, so the
dashboard works offline).
"""

from __future__ import annotations

from mcapi.emulator._ui._home import home
from mcapi.emulator._ui._pages import UI, login_path, ui_routes

__all__ = ["UI", "home", "login_path", "ui_routes"]
