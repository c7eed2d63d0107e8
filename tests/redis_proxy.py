"""A TCP proxy in front of a real Redis that can lose a reply: Redis runs the command, and the
connection breaks before its answer reaches the client (as in a failover, or a network cut at
the wrong moment). The client sees a connection error for a command that did take effect."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.redis_servers import free_port


class LosingProxy:
    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.port = free_port()
        self._marker: bytes | None = None
        self.lost = 0  # replies lost so far
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def lose_reply_to(self, marker: bytes) -> None:
        """The next command whose request holds `marker` runs, and its reply is lost."""
        with self._lock:
            self._marker = marker

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.redis_port))
            threading.Thread(target=self._serve, args=(client, server), daemon=True).start()

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        """One client connection: requests go to Redis and replies come back, but the reply to
        a request holding the marker is read from Redis and dropped, and the connection cut."""
        swallow = threading.Event()
        replies = threading.Thread(target=self._relay, args=(server, client, swallow), daemon=True)
        replies.start()
        seen = b""  # the end of the last read too: a marker may straddle two reads
        with client, server:
            while data := _recv(client):
                with self._lock:
                    if self._marker is not None and self._marker in seen + data:
                        self._marker = None
                        swallow.set()
                    seen = data[-64:]
                server.sendall(data)
            with suppress(OSError):  # the client left: Redis closes, and the relay ends
                server.shutdown(socket.SHUT_WR)
            replies.join()

    def _relay(
        self, server: socket.socket, client: socket.socket, swallow: threading.Event
    ) -> None:
        while data := _recv(server):
            if swallow.is_set():  # Redis ran it; the client never hears
                with self._lock:
                    self.lost += 1
                client.shutdown(socket.SHUT_RDWR)
                return
            try:
                client.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # ends the blocked accept()
        self._listener.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1 << 20)
    except OSError:
        return b""


@contextmanager
def losing_proxy(redis_port: int) -> Iterator[LosingProxy]:
    proxy = LosingProxy(redis_port)
    try:
        yield proxy
    finally:
        proxy.close()
