"""Slack's Socket Mode, emulated: the WebSocket an app dials instead of serving HTTP.

The app calls `apps.connections.open` with its app-level token (`xapp-...`) and gets a one-time
`ws://host:port/link/?ticket=...` URL from the emulator. On connect the endpoint sends `hello`;
then Slack's side pushes envelopes
`{"envelope_id", "type": "events_api" | "slash_commands" | "interactive", "payload",
"accepts_response_payload"}` (events also carry `retry_attempt` and `retry_reason`), each to one
open connection, and the app acknowledges each with `{"envelope_id", "payload"?}`. The endpoint
records every acknowledgement, so a test can check what the app answered (a slash command's or a
view submission's response travels in the acknowledgement's `payload`). `disconnect` tells the
app to fetch a new URL and reconnect, as Slack does when it refreshes its connections.

`SocketModeSender` pushes what people do (the same payloads as `signing.SlackRequestSender`
posts over HTTP, built by `payloads.SlackPayloads`) and waits for their acknowledgements.

The WebSocket server is the `websockets` library's threaded one (`websockets.sync.server`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.methods import APP_ID
from bot.sandbox.payloads import SlackPayloads

try:
    from websockets.exceptions import ConnectionClosed
    from websockets.http11 import Request, Response
    from websockets.sync.server import Server, ServerConnection, serve
except ImportError as exc:  # pragma: no cover - websockets is a dependency of the project
    raise ImportError(
        "The Socket Mode emulator needs the `websockets` package (>= 15): pip install websockets"
    ) from exc

if TYPE_CHECKING:
    from bot.sandbox.emulator import SlackEmulator

EnvelopeType = Literal["events_api", "slash_commands", "interactive"]
DisconnectReason = Literal["refresh_requested", "warning", "link_disabled"]

#: Interactions whose acknowledgement may carry an answer (errors, a new view, options).
RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})
LINK_PATH = "/link/"


@dataclass(frozen=True)
class SocketAck:
    """An acknowledgement the app sent back: the envelope id and the optional payload."""

    envelope_id: str
    payload: dict[str, Any] | None
    time: float


class SocketModeEndpoint:
    """The emulator's Socket Mode WebSocket server; `SlackEmulator` starts and stops it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_id: str = APP_ID,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.clock = clock
        self._host, self._port = host, port
        self._changed = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: dict[str, ServerConnection] = {}
        self._opened = 0
        self._next = 0
        self._acks: list[SocketAck] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SocketModeEndpoint:
        self._server = serve(
            self._serve,
            self._host,
            self._port,
            process_request=self._check_ticket,
            compression=None,
        )
        self._port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-socket-mode", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- what apps.connections.open hands out ---------------------------------------------

    def new_url(self) -> str:
        """A WebSocket URL good for one connection, like the `url` Slack answers with."""
        ticket = uuid.uuid4().hex
        with self._changed:
            self._tickets.add(ticket)
        return f"ws://{self._host}:{self._port}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    # -- state ---------------------------------------------------------------------------

    @property
    def connections_opened(self) -> int:
        """Connections ever opened (grows by one on each reconnection)."""
        with self._changed:
            return self._opened

    def wait_for_connections(
        self, count: int = 1, *, opened: int = 0, timeout: float = 30.0
    ) -> bool:
        """Wait until exactly `count` connections are open and at least `opened` were ever
        opened (after a `disconnect`: the app's new connection is up and its old one gone)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len(self._connections) == count and self._opened >= opened, timeout
            )

    def acks(self) -> list[SocketAck]:
        """Every acknowledgement received, in arrival order."""
        with self._changed:
            return list(self._acks)

    def wait_for_ack(self, envelope_id: str, timeout: float = 15.0) -> SocketAck | None:
        """The acknowledgement of `envelope_id`, waiting up to `timeout` s; None if none came."""

        def found() -> SocketAck | None:
            return next((a for a in self._acks if a.envelope_id == envelope_id), None)

        with self._changed:
            self._changed.wait_for(found, timeout)
            return found()

    # -- pushing to the app --------------------------------------------------------------

    def send(
        self,
        type: EnvelopeType,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Push an envelope to one open connection (in turn); returns its `envelope_id`."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or ""
        self.send_raw(json.dumps(envelope))
        return envelope_id

    def send_raw(self, text: str) -> None:
        """Send any text frame to one open connection: a malformed envelope, for instance."""
        with self._changed:
            connections = list(self._connections.values())
            if not connections:
                raise RuntimeError("no app is connected to the Socket Mode endpoint")
            connection = connections[self._next % len(connections)]
            self._next += 1
        connection.send(text)

    def disconnect(self, reason: DisconnectReason = "refresh_requested") -> None:
        """Tell every connected app to reconnect, as Slack does before it closes a socket."""
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "sandbox"}}
        )
        with self._changed:
            connections = list(self._connections.values())
        for connection in connections:
            with contextlib.suppress(ConnectionClosed):  # it left first: nothing to tell
                connection.send(message)

    # -- the server side (websockets threads) --------------------------------------------

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse the handshake unless it brings a ticket from apps.connections.open, once."""
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._changed:
            if url.path.rstrip("/") == LINK_PATH.rstrip("/") and ticket in self._tickets:
                self._tickets.discard(ticket)
                return None
        return connection.respond(401, "invalid or used ticket: call apps.connections.open\n")

    def _serve(self, connection: ServerConnection) -> None:
        connection_id = str(connection.id)
        with self._changed:
            self._connections[connection_id] = connection
            self._opened += 1
            count = len(self._connections)
            self._changed.notify_all()
        try:
            connection.send(json.dumps(self._hello(count)))
            for message in connection:
                self._receive(message)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self._connections.pop(connection_id, None)
                self._changed.notify_all()

    def _hello(self, num_connections: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {
                "host": "sandbox",
                "build_number": 1,
                "approximate_connection_time": 3600,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, message: str | bytes) -> None:
        """Record an acknowledgement; anything else the app sends is ignored, as Slack does."""
        try:
            data = json.loads(message)
        except ValueError:
            return
        if not isinstance(data, dict) or not isinstance(data.get("envelope_id"), str):
            return
        payload = data.get("payload")
        with self._changed:
            self._acks.append(
                SocketAck(
                    data["envelope_id"],
                    payload if isinstance(payload, dict) else None,
                    self.clock(),
                )
            )
            self._changed.notify_all()


@dataclass(frozen=True)
class SocketDelivery:
    """An envelope pushed to the app: its id and payload, and a way to get its ack."""

    envelope_id: str
    type: EnvelopeType
    sent: dict[str, Any]
    endpoint: SocketModeEndpoint

    def ack(self, timeout: float = 15.0) -> SocketAck:
        """Wait for the app's acknowledgement; AssertionError when none comes in `timeout` s."""
        ack = self.endpoint.wait_for_ack(self.envelope_id, timeout)
        if ack is None:
            raise AssertionError(f"the app did not acknowledge {self.type} {self.envelope_id}")
        return ack


class SocketModeSender:
    """Sends what people do to an app connected to the emulator's Socket Mode endpoint."""

    def __init__(
        self,
        emulator: SlackEmulator,
        *,
        team_id: str | None = None,
        api_app_id: str = APP_ID,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.emulator = emulator
        self.endpoint = emulator.socket_mode
        self.payloads = SlackPayloads(emulator, team_id=team_id, api_app_id=api_app_id, clock=clock)

    def envelope(
        self,
        type: EnvelopeType,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> SocketDelivery:
        envelope_id = self.endpoint.send(
            type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        return SocketDelivery(envelope_id, type, payload, self.endpoint)

    # -- Events API ----------------------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> SocketDelivery:
        """An `events_api` envelope around an `event_callback`; a redelivery of the same
        `event_id` carries `retry_attempt` 1, 2, 3 and a `retry_reason` such as `timeout`."""
        callback = self.payloads.event_callback(event, event_id=event_id, event_time=event_time)
        return self.envelope(
            "events_api", callback, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    def user_message(
        self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> SocketDelivery:
        """A person posts `text`: the message goes into the emulator, its event to the app."""
        return self.event(
            self.payloads.message_event(user_id, channel_id, text, thread_ts=thread_ts)
        )

    # -- slash commands ------------------------------------------------------------------

    def command(
        self, command: str, text: str = "", *, user_id: str, channel_id: str
    ) -> SocketDelivery:
        fields = self.payloads.command(command, text, user_id=user_id, channel_id=channel_id)
        return self.envelope("slash_commands", fields, accepts_response_payload=True)

    # -- interactivity -------------------------------------------------------------------

    def interaction(self, payload: dict[str, Any]) -> SocketDelivery:
        responds = payload.get("type") in RESPONDING_INTERACTIONS
        return self.envelope("interactive", payload, accepts_response_payload=responds)

    def block_actions(
        self,
        user_id: str,
        actions: list[dict[str, Any]],
        *,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
    ) -> SocketDelivery:
        payload = self.payloads.block_actions(
            user_id, actions, channel_id=channel_id, message=message, view=view
        )
        return self.interaction(payload)

    def click(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str
    ) -> SocketDelivery:
        return self.interaction(self.payloads.click(user_id, channel_id, message_ts, action_id))

    def view_submission(
        self,
        user_id: str,
        view: dict[str, Any],
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> SocketDelivery:
        return self.interaction(self.payloads.view_submission(user_id, view, values))

    def submit_view(
        self,
        user_id: str,
        view_id: str,
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> SocketDelivery:
        return self.interaction(self.payloads.submit_view(user_id, view_id, values))

    def message_shortcut(
        self, callback_id: str, user_id: str, channel_id: str, message: dict[str, Any]
    ) -> SocketDelivery:
        payload = self.payloads.message_shortcut(callback_id, user_id, channel_id, message)
        return self.interaction(payload)
