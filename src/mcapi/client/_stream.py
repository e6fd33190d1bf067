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

Where a download lands (:class:`Target`): a target that ends with ``/`` or names an existing
directory is a directory (created when missing), and each file goes in it under the name of its
``Content-Disposition``, reduced to a plain name (:func:`safe_filename`: no directory part, no
``..``, no control characters), or ``<function>-<x-mc-req-id>.bin`` when the answer gives none. A
file of that name already in the directory is replaced: it is the same file fetched again (a run
that stopped after writing it but before saving its token). Any other target is a file, and an
existing file is never overwritten unless the caller says ``overwrite=True``: a token loop that
names a file instead of a directory stops at its second file with :class:`FileExistsError`
instead of writing every file over the previous one, and the token of the file it refused is
never handed out.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import httpx

from mcapi._errors import TransportError
from mcapi.client._result import Result

__all__ = [
    "AtomicFile",
    "Downloaded",
    "FileStream",
    "Target",
    "downloaded",
    "filename_of",
    "safe_filename",
]

# Control characters, and separators of any platform: none may reach a file name.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f:/\\]")
_NAME_MAX = 255  # bytes: the usual limit of one path component


def safe_filename(name: str | None) -> str | None:
    """``name`` reduced to a plain file name that stays in its directory, or ``None``.

    The server chooses the name, so it is not trusted: only its last component is kept (``/`` and
    ``\\`` both separate), control characters and ``:`` become ``_``, leading dots go (no
    ``..``, no hidden files), and it is cut to 255 bytes keeping its extension.
    """
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if not name:
        return None
    if len(name.encode()) > _NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 16 else ""
        stem = name[: len(name) - len(ext)]
        room = _NAME_MAX - len(ext.encode())
        stem = stem.encode()[:room].decode(errors="ignore")
        name = stem + ext
    return name


def filename_of(content_disposition: str | None) -> str | None:
    """The file name a ``Content-Disposition`` header gives (``filename`` or ``filename*``),
    made safe by :func:`safe_filename`."""
    if not content_disposition:
        return None
    message = Message()
    message["content-disposition"] = content_disposition
    return safe_filename(message.get_filename())


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


class Target:
    """Where ``download()`` writes: a directory or a file (see the module's docstring).

    Made before the call, so that a file target that exists is refused before anything is asked
    of the platform.
    """

    def __init__(self, target: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        raw = os.fspath(target)
        self.path = Path(raw)
        # Path("logs/") forgets the slash: read it from the string.
        self.is_dir = raw.endswith(("/", os.sep)) or self.path.is_dir()
        self.overwrite = overwrite
        if not self.is_dir and not overwrite and self.path.exists():
            raise _exists(self.path)

    def open(
        self, stream: FileStream, progress: Callable[[int], object] | None = None
    ) -> AtomicFile:
        """The :class:`AtomicFile` for ``stream``'s file."""
        if not self.is_dir:
            return AtomicFile(self.path, replace=self.overwrite, progress=progress)
        self.path.mkdir(parents=True, exist_ok=True)
        name = stream.filename
        if name is None:
            function = stream.path.rstrip("/").rsplit("/", 1)[-1] or "download"
            name = safe_filename(f"{function}-{stream.request_id or os.getpid()}.bin")
        return AtomicFile(self.path / (name or "download.bin"), replace=True, progress=progress)


def _exists(path: Path) -> FileExistsError:
    return FileExistsError(
        17,
        f"{path} exists and is not a directory: mcapi does not write a downloaded file over "
        f"another. Give a directory (end the path with '/'; it is created when missing), a new "
        f"file name, or overwrite=True (mcapi call: --overwrite)",
        str(path),
    )


class AtomicFile:
    """A file written beside ``target`` and moved there only when complete and on disk: readers
    never see half a file, and a failure leaves nothing behind. With ``replace=False`` an
    existing ``target`` is never replaced, even one that appeared during the download (the move
    is a hard link, which fails when the name is taken). ``progress`` is called with the size of
    each chunk written."""

    def __init__(
        self,
        target: Path,
        *,
        replace: bool = True,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.target = target
        self._replace = replace
        self._progress = progress
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, self._temp = tempfile.mkstemp(
            prefix=f".{target.name[:200]}.", suffix=".part", dir=target.parent
        )
        self._handle = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self.size += len(chunk)
        if self._progress is not None:
            self._progress(len(chunk))

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        try:
            if kind is None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
            if kind is None:
                self._commit()
                _sync_directory(self.target.parent)
        finally:
            Path(self._temp).unlink(missing_ok=True)

    def _commit(self) -> None:
        if self._replace:
            os.replace(self._temp, self.target)
            return
        try:
            os.link(self._temp, self.target)
        except FileExistsError:
            raise _exists(self.target) from None
        except OSError:
            # A file system without hard links: check, then move (a narrow race, not a loop's).
            if self.target.exists():
                raise _exists(self.target) from None
            os.replace(self._temp, self.target)


def _sync_directory(directory: Path) -> None:
    """Make the new name durable too (POSIX; other systems have no directory handles)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
