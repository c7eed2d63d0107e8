"""A fast local webhook receiver for the benchmarks, in a process of its own.

An asyncio HTTP/1.1 server (no framework, one coroutine per connection, keep-alive honoured)
that checks each POST's `X-Greenlight-Signature` (HMAC-SHA256, about 2 µs a request) and records
its `Idempotency-Key` with the wall-clock time (`time.time()`) at which the whole request had
arrived. It answers `{"id": ...}` as `WebhookReceiver` in the tests does.

Control, on the same port: `GET /_arrivals` returns `{"arrivals": [[key, t], ...],
"bad_signatures": n}`; `POST /_reset` forgets everything.

    sink = Sink("secret").start()   # sink.url, sink.pid
    ...
    report = sink.arrivals()
    sink.stop()
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import socket
import time
import urllib.request
from typing import Any

_OK_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n"


class _State:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.arrivals: list[tuple[str, float]] = []
        self.bad_signatures = 0

    def accept(self, headers: dict[str, str], body: bytes) -> bytes:
        """Record one webhook delivery; returns the JSON answer."""
        arrived = time.time()
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("x-greenlight-signature", ""), expected):
            self.bad_signatures += 1
        key = headers.get("idempotency-key", "")
        self.arrivals.append((key, arrived))
        return b'{"id":"evt_%d"}' % len(self.arrivals)

    def control(self, path: str) -> bytes:
        if path == "/_reset":
            self.arrivals.clear()
            self.bad_signatures = 0
            return b"{}"
        report = {"arrivals": self.arrivals, "bad_signatures": self.bad_signatures}
        return json.dumps(report).encode()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    return path, headers, body


def _serve(state: _State, sock: socket.socket) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                path, headers, body = await _read_request(reader)
                closing = headers.get("connection", "").lower() == "close"
                answer = (
                    state.control(path) if path.startswith("/_") else state.accept(headers, body)
                )
                extra = "Connection: close\r\n" if closing else ""
                writer.write(_OK_HEAD.format(len(answer), extra).encode() + answer)
                await writer.drain()
                if closing:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Sink:
    """The receiver process; `start()` binds a free port on 127.0.0.1 first."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1024)
        self.port = self._sock.getsockname()[1]
        self._process: multiprocessing.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None and self._process.pid is not None
        return self._process.pid

    def start(self) -> Sink:
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=_serve, args=(_State(self.secret.encode()), self._sock), daemon=True
        )
        self._process.start()
        self._sock.close()  # the child has its own copy
        return self

    def _call(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(self.url + path, method=method, data=b"")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def arrivals(self) -> dict[str, Any]:
        return self._call("/_arrivals")

    def reset(self) -> None:
        self._call("/_reset", "POST")

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=10)
