"""File answers: get-siem-logs, get-message-part and other functions that return a file.

Theory of operation
-------------------
A function that returns a file answers ``application/octet-stream`` on success, and the ordinary
JSON envelope otherwise: an error (classified and retried like any call, before the stream is
handed over), a ``fail`` entry (e.g. an invalid SIEM token), or - for get-siem-logs - a 200 with
``meta.isLastToken: true`` when no newer file exists. :class:`FileStream` tells the two apart:
``is_file`` is true and the bytes come from :meth:`FileStream.iter_bytes` (or ``aiter_bytes``)
without ever holding the whole file in memory; otherwise ``result`` is the JSON :class:`Result`.

:class:`Downloaded` is what ``download()`` returns after the bytes are safely on disk (written to a
temporary file, flushed, renamed into place): only then is the answer's ``mc-siem-token`` handed to
the caller, so a checkpoint saved from it never points past logs that were lost.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import httpx

from mcapi._errors import TransportError
from mcapi.client._result import Result

__all__ = ["AtomicFile", "Downloaded", "FileStream", "downloaded", "filename_of"]


def filename_of(content_disposition: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header gives (``filename`` or ``filename*``)."""
    if not content_disposition:
        return None
    message = Message()
    message["content-disposition"] = content_disposition
    name = message.get_filename()
    return os.path.basename(name) if name else None


class FileStream:
    """The answer of a file function: a file (``is_file``) or a JSON ``result``.

    Attributes:
        path: the function called.
        status: the HTTP status.
        headers: the answer's headers (``mc-siem-token``, ``Content-Disposition``...).
        request_id: the x-mc-req-id of the attempt that produced the answer.
        attempts: how many attempts the call took.
        result: the JSON answer when the function did not return a file, else ``None``.
    """

    def __init__(
        self,
        path: str,
        response: httpx.Response,
        *,
        attempts: int,
        result: Result | None,
    ) -> None:
        self.path = path
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self.request_id = response.request.headers.get("x-mc-req-id")
        self.attempts = attempts
        self.result = result
        self._response = response

    @property
    def is_file(self) -> bool:
        """True when the answer is a file; False when it is JSON (see ``result``)."""
        return self.result is None

    @property
    def is_last_token(self) -> bool:
        """get-siem-logs: no newer file exists yet (``meta.isLastToken``)."""
        return self.result is not None and self.result.is_last_token

    @property
    def siem_token(self) -> str | None:
        """The ``mc-siem-token`` header: the token of the next file."""
        return self.headers.get("mc-siem-token")

    @property
    def filename(self) -> str | None:
        """The file name from ``Content-Disposition``."""
        return filename_of(self.headers.get("content-disposition"))

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def _broken(self, exc: httpx.TransportError) -> TransportError:
        return TransportError(
            f"the file from {self.path} broke off: {type(exc).__name__}: {exc}",
            endpoint=self.path,
            request_id=self.request_id,
            attempts=self.attempts,
        )

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The file's bytes, as they arrive (sync client)."""
        if not self.is_file:
            return
        try:
            yield from self._response.iter_bytes(chunk_size)
        except httpx.TransportError as exc:
            raise self._broken(exc) from exc

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The file's bytes, as they arrive (async client)."""
        if not self.is_file:
            return
        try:
            async for chunk in self._response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise self._broken(exc) from exc

    def __repr__(self) -> str:
        what = f"file {self.filename!r}" if self.is_file else "json"
        return f"<FileStream {self.path} {self.status} {what} x-mc-req-id={self.request_id}>"


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file answer written to disk (``target``), or the JSON ``result`` when there was no file.

    ``siem_token`` is the answer's ``mc-siem-token``: save it as a checkpoint only now that the
    file is on disk.
    """

    path: str
    target: Path | None
    size: int
    filename: str | None
    siem_token: str | None
    content_type: str | None
    request_id: str | None
    attempts: int
    result: Result | None

    @property
    def is_file(self) -> bool:
        return self.result is None

    @property
    def is_last_token(self) -> bool:
        return self.result is not None and self.result.is_last_token


class AtomicFile:
    """A file written beside ``target`` and renamed over it only when complete: readers never see
    half a file, and a failure leaves nothing behind. ``target`` may be a directory: the file is
    then named after the answer's ``Content-Disposition``."""

    def __init__(self, target: Path, filename: str | None) -> None:
        if target.is_dir():
            target = target / (filename or "download.bin")
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, self._temp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
        self._handle = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self.size += len(chunk)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if kind is None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
            if kind is None:
                os.replace(self._temp, self.target)
        finally:
            Path(self._temp).unlink(missing_ok=True)


def downloaded(stream: FileStream, target: Path | None, size: int) -> Downloaded:
    """The summary of a finished download."""
    return Downloaded(
        path=stream.path,
        target=target if stream.is_file else None,
        size=size,
        filename=stream.filename,
        siem_token=stream.siem_token,
        content_type=stream.content_type,
        request_id=stream.request_id,
        attempts=stream.attempts,
        result=stream.result,
    )
