"""The httpx clients the shells send through: httpx's, less the cookie work no answer asks for.

httpx reads every answer for cookies: it builds ``urllib``'s request and response views of the
exchange (an ``email.message.Message`` of all its headers among them) and hands them to the
cookie jar, whether or not the answer set a cookie. That is about a quarter of what an httpx
client spends on a small answer, and the platform's API sets none. :class:`AnswerCookies` skips
the work for an answer without a ``Set-Cookie`` header and does exactly what httpx does for one
with it, so a cookie a load balancer sets is still kept and sent back.

The two client classes differ from httpx's only in keeping an :class:`AnswerCookies` as their
``cookies`` (httpx reads and updates the store through that property).
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import httpx

__all__ = ["AnswerCookies", "AsyncHttpClient", "HttpClient"]

#: What httpx accepts as ``cookies``.
CookieTypes = httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]] | None


class AnswerCookies(httpx.Cookies):
    """httpx's cookie store, which reads an answer only when it sets a cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _KeepsAnswerCookies:
    """Keeps an :class:`AnswerCookies` as the client's ``cookies`` (httpx reads and updates the
    store through that property); mixed in before httpx's client class."""

    _answer_cookies: AnswerCookies

    def __init__(self, **options: Any) -> None:
        cookies = options.pop("cookies", None)
        super().__init__(**options)
        self.cookies = cookies

    @property
    def cookies(self) -> httpx.Cookies:
        return self._answer_cookies

    @cookies.setter
    def cookies(self, cookies: CookieTypes) -> None:
        self._answer_cookies = AnswerCookies(cookies)


class HttpClient(_KeepsAnswerCookies, httpx.Client):
    """``httpx.Client`` with :class:`AnswerCookies`."""


class AsyncHttpClient(_KeepsAnswerCookies, httpx.AsyncClient):
    """``httpx.AsyncClient`` with :class:`AnswerCookies`."""
