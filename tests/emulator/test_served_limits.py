"""A served emulator against greedy and slow clients, over real sockets on loopback: request heads
are bounded (431), requests must arrive in time (408), connections are bounded (503)."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from mcapi.emulator import Emulator
from mcapi.emulator._serve import DEFAULT_MAX_HEAD_BYTES, ServeLimits, serve_in_thread

ACCOUNT = "/api/account/get-account"
#: A bound on how long a test waits for an answer: the socket timeout, never an assertion.
PATIENCE = 20.0


@contextlib.contextmanager
def served(limits: ServeLimits) -> Iterator[tuple[Emulator, tuple[str, int]]]:
    emulator = Emulator("sqlite://", kdf_n=2**10)
    emulator.load_demo()
    try:
        with serve_in_thread(emulator, limits=limits) as base_url:
            parts = urlsplit(base_url)
            assert parts.hostname is not None and parts.port is not None
            yield emulator, (parts.hostname, parts.port)
    finally:
        emulator.close()


def connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=PATIENCE)
    sock.settimeout(PATIENCE)
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer: status, headers (lower-case names), body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def simple_request(path: str = ACCOUNT, extra: str = "") -> bytes:
    body = b'{"data": []}'
    return (
        f"POST {path} HTTP/1.1\r\nHost: emulator\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def error_code(body: bytes) -> str:
    return str(json.loads(body)["fail"][0]["errors"][0]["code"])


def test_a_head_over_the_bound_is_431_in_the_envelope() -> None:
    with served(ServeLimits()) as (_, address), connect(address) as sock:
        sock.sendall(simple_request(extra=f"X-Padding: {'a' * DEFAULT_MAX_HEAD_BYTES}\r\n"))
        status, headers, body = read_answer(sock)
        assert status == 431
        assert headers["connection"] == "close"
        assert error_code(body) == "err_request_header_too_large"
        assert closed_by_server(sock)


def test_a_head_that_never_ends_is_refused_before_it_does() -> None:
    with served(ServeLimits()) as (_, address), connect(address) as sock:
        sock.sendall(f"POST {ACCOUNT} HTTP/1.1\r\nHost: emulator\r\nX-Padding: ".encode())
        for _ in range(8):  # 32 KiB of one header value, its line never finished
            with contextlib.suppress(ConnectionError):
                sock.sendall(b"a" * 4096)
        status, _, body = read_answer(sock)
        assert status == 431
        assert error_code(body) == "err_request_header_too_large"


def test_a_head_within_the_bound_is_served() -> None:
    with served(ServeLimits()) as (_, address), connect(address) as sock:
        sock.sendall(simple_request(extra=f"X-Padding: {'a' * 8000}\r\n"))
        status, _, body = read_answer(sock)
        assert status == 400  # unsigned: credentials missing, the pipeline's answer
        assert error_code(body) == "err_xdk_credentials_missing"


def test_a_head_within_the_bound_sent_in_pieces_is_served() -> None:
    request = simple_request(extra=f"X-Padding: {'a' * 12_000}\r\n")
    with served(ServeLimits()) as (_, address), connect(address) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), 3000):
            sock.sendall(request[start : start + 3000])
        status, _, _ = read_answer(sock)
        assert status == 400


def test_a_body_that_does_not_arrive_in_time_is_408_and_nothing_runs() -> None:
    with served(ServeLimits(request_timeout=0.5)) as (emulator, address), connect(address) as sock:
        head = f"POST {ACCOUNT} HTTP/1.1\r\nHost: emulator\r\nContent-Length: 100\r\n\r\n"
        sock.sendall(head.encode() + b'{"data": [')
        status, headers, body = read_answer(sock)
        assert status == 408
        assert headers["connection"] == "close"
        assert error_code(body) == "err_request_timeout"
        assert closed_by_server(sock)
    (entry,) = emulator.journal.entries()
    assert entry.status == 0 and entry.reason == "the connection closed mid-body"


def test_a_connection_that_sends_nothing_is_closed_in_time() -> None:
    with served(ServeLimits(request_timeout=0.5)) as (_, address), connect(address) as sock:
        status, _, body = read_answer(sock)
        assert status == 408
        assert error_code(body) == "err_request_timeout"
        assert closed_by_server(sock)


def test_a_head_sent_slowly_is_408() -> None:
    with served(ServeLimits(request_timeout=0.5)) as (_, address), connect(address) as sock:
        sock.sendall(f"POST {ACCOUNT} HTTP/1.1\r\nHost: emu".encode())
        status, _, body = read_answer(sock)
        assert status == 408
        assert error_code(body) == "err_request_timeout"


def test_keep_alive_requests_each_get_the_whole_timeout() -> None:
    # The timer covers one request's arrival, not the connection's life.
    with served(ServeLimits(request_timeout=5)) as (_, address), connect(address) as sock:
        for _ in range(3):
            sock.sendall(simple_request())
            status, _, _ = read_answer(sock)
            assert status == 400


def test_connections_beyond_the_limit_are_answered_503() -> None:
    with (
        served(ServeLimits(max_connections=2)) as (_, address),
        connect(address) as first,
        connect(address) as second,
    ):
        for sock in (first, second):
            sock.sendall(simple_request())
            assert read_answer(sock)[0] == 400
        with connect(address) as third:
            third.sendall(simple_request())
            assert read_answer(third)[0] == 503


@pytest.mark.parametrize(
    "limits",
    [{"request_timeout": 0}, {"request_timeout": -1}, {"max_connections": 0}],
)
def test_limits_are_validated(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ServeLimits(**limits)  # type: ignore[arg-type]
