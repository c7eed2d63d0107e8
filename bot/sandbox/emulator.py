"""A local Slack Web API emulator: a threaded HTTP server that answers like slack.com/api/.

Point slack_sdk at it with `WebClient(token=..., base_url=emulator.api_url)` (or the bot with
`SLACK_API_URL`). It checks tokens and required arguments, validates Block Kit, keeps what the
bot posted, records every call, serves `response_url`s, and fails on demand (429, 5xx, any
Slack error, latency). It also serves Socket Mode: `apps.connections.open` with the app-level
token hands out a WebSocket URL of its `socket_mode` endpoint (see `bot.sandbox.socket_mode`).
Run it alone with `python -m bot.sandbox.emulator --port 9000`.
"""

from __future__ import annotations

import argparse
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.blockkit import message_block_errors
from bot.sandbox.faults import ANY_METHOD, RESPONSE_URL, SERVER_ERRORS, Fault, FaultPlan
from bot.sandbox.methods import (
    METHODS,
    CallContext,
    SlackError,
    invalid_arguments,
    missing_arguments,
)
from bot.sandbox.payloads import as_slack_sends
from bot.sandbox.socket_mode import SocketModeEndpoint
from bot.sandbox.workspace import (
    Channel,
    EphemeralMessage,
    Message,
    ScheduledMessage,
    Team,
    Trigger,
    User,
    Usergroup,
    View,
    Workspace,
)

TRIGGER_TTL = 3.0
#: Methods that take the app-level token (`xapp-`) and no other; every other method refuses it.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})


@dataclass(frozen=True)
class RecordedCall:
    """One Web API request as the emulator saw it, and what it answered."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    time: float
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass(frozen=True)
class ResponseUrlPost:
    """A body the bot sent to a `response_url`, and the HTTP status it got back."""

    response_url: str
    body: dict[str, Any]
    time: float
    status: int
    user_id: str | None = None  # who the response_url was given to (None: an unknown url)


@dataclass
class _ResponseUrl:
    team_id: str
    user_id: str | None
    channel_id: str | None
    message_ts: str | None


class SlackEmulator:
    """The emulated Slack Web API on `http://host:port/api/`; a context manager.

    `workspace` holds the teams, users, channels, usergroups (a default team with the bot token
    `xoxb-sandbox-token` when omitted) and the app-level token (`xapp-sandbox-token`). `clock`
    gives the current Unix time; tests may pass a clock they move to expire trigger ids or reach
    scheduled times.
    """

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        trigger_ttl: float = TRIGGER_TTL,
    ) -> None:
        if workspace is None:
            workspace = Workspace()
            workspace.add_team()
        self.workspace = workspace
        self.clock = clock
        self.trigger_ttl = trigger_ttl
        self.faults = FaultPlan()
        self.lock = threading.RLock()
        self._host, self._port = host, port
        self._calls: list[RecordedCall] = []
        self._held: list[str] = []  # methods of the calls a `delay` is holding right now
        self._back = threading.Event()  # set by `clear_faults`: held calls are answered now
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._response_posts: list[ResponseUrlPost] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.socket_mode = SocketModeEndpoint(host=host, clock=clock)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        server = _Server((self._host, self._port), _RequestHandler)
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="slack-emulator", daemon=True
        )
        self._thread.start()
        self.socket_mode.start()
        return self

    def stop(self) -> None:
        self.socket_mode.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """What `SLACK_API_URL` / `WebClient(base_url=...)` should be set to."""
        return f"{self.base_url}/api/"

    @property
    def team(self) -> Team:
        """The first team, the one a single-workspace setup uses."""
        return next(iter(self.workspace.teams.values()))

    @property
    def bot_token(self) -> str:
        return self.team.bot_token

    @property
    def app_token(self) -> str:
        """The app-level token (`SLACK_APP_TOKEN`) that opens Socket Mode connections."""
        return self.workspace.app_token

    # -- workspace configuration (thread-safe) ------------------------------------------

    def add_team(self, team_id: str, **kwargs: Any) -> Team:
        with self.lock:
            return self.workspace.add_team(team_id, **kwargs)

    def add_user(self, user_id: str, name: str | None = None, **kwargs: Any) -> User:
        with self.lock:
            return self.workspace.add_user(user_id, name, **kwargs)

    def add_usergroup(self, usergroup_id: str, users: list[str], **kwargs: Any) -> Usergroup:
        with self.lock:
            return self.workspace.add_usergroup(usergroup_id, users, **kwargs)

    def add_channel(self, channel_id: str, name: str | None = None, **kwargs: Any) -> Channel:
        with self.lock:
            return self.workspace.add_channel(channel_id, name, **kwargs)

    def post_user_message(
        self, channel_id: str, user_id: str, text: str, *, thread_ts: str | None = None
    ) -> Message:
        """Put a person's message in a channel, as if they had typed `text` (kept as Slack
        keeps it: `as_slack_sends`); returns a copy."""
        with self.lock:
            ts = self.workspace.new_ts(self.clock())
            message = self.workspace.post_user_message(
                channel_id, user_id, as_slack_sends(text), ts=ts, thread_ts=thread_ts
            )
            return copy.deepcopy(message)

    # -- what happened -------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Every Web API call in arrival order, or only those of `method`."""
        with self.lock:
            return [c for c in self._calls if method is None or c.method == method]

    def held_calls(self) -> list[str]:
        """Methods of the calls that a `delay` is holding unanswered right now (recorded by
        `calls` only once answered)."""
        with self.lock:
            return list(self._held)

    def messages(self, channel: str) -> list[Message]:
        """Messages in a channel (id, or a user id for the bot's DM with them), oldest first."""
        with self.lock:
            self.workspace.deliver_due(self.clock())
            if channel in self.workspace.users:
                team = self.workspace.teams[self.workspace.users[channel].team_id]
                channel = self.workspace.dm_channel(team, channel).id
            return copy.deepcopy(self.workspace.messages.get(channel, []))

    def message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages(channel) if m.ts == ts), None)

    def ephemeral_messages(
        self, *, channel: str | None = None, user: str | None = None
    ) -> list[EphemeralMessage]:
        with self.lock:
            return [
                copy.deepcopy(e)
                for e in self.workspace.ephemeral
                if channel in (None, e.channel) and user in (None, e.user)
            ]

    def scheduled_messages(self) -> list[ScheduledMessage]:
        """Scheduled messages not yet sent and not deleted."""
        with self.lock:
            self.workspace.deliver_due(self.clock())
            return [copy.deepcopy(s) for s in self.workspace.scheduled.values() if not s.sent_ts]

    def view(self, view_id: str) -> View | None:
        with self.lock:
            view = self.workspace.views.get(view_id)
            return copy.deepcopy(view)

    def modal_stack(self, user_id: str) -> list[View]:
        """The modals open for a user, root first."""
        with self.lock:
            stack = self.workspace.modal_stacks.get(user_id, [])
            return [copy.deepcopy(self.workspace.views[v]) for v in stack]

    def home(self, user_id: str) -> View | None:
        """The Home tab last published for a user."""
        with self.lock:
            view_id = self.workspace.home_tabs.get(user_id)
            return copy.deepcopy(self.workspace.views[view_id]) if view_id else None

    def response_url_posts(self, response_url: str | None = None) -> list[ResponseUrlPost]:
        with self.lock:
            return [p for p in self._response_posts if response_url in (None, p.response_url)]

    # -- interactions --------------------------------------------------------------------

    def mint_trigger_id(self, user_id: str, team_id: str | None = None) -> str:
        """A trigger_id as Slack puts in an interaction: usable once, for `trigger_ttl` s."""
        with self.lock:
            team = team_id or self.team.id
            trigger_id = f"{int(self.clock())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"
            expires = self.clock() + self.trigger_ttl
            self.workspace.triggers[trigger_id] = Trigger(user_id, team, expires)
            return trigger_id

    def new_response_url(
        self,
        *,
        team_id: str | None = None,
        user_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url the emulator serves; with a message, `replace_original` edits it."""
        with self.lock:
            url = f"{self.base_url}/response/{uuid.uuid4().hex}"
            team = team_id or self.team.id
            self._response_urls[url] = _ResponseUrl(team, user_id, channel_id, message_ts)
            return url

    # -- fault injection -----------------------------------------------------------------

    def rate_limit(
        self, method: str = ANY_METHOD, *, times: int | None = 1, retry_after: int = 1
    ) -> None:
        """The next `times` calls of `method` get HTTP 429, `Retry-After`, `ratelimited`."""
        with self.lock:
            self.faults.add(Fault(method, 429, "ratelimited", retry_after, times))

    def server_error(
        self,
        method: str = ANY_METHOD,
        *,
        times: int | None = 1,
        status: int = 500,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` get HTTP `status` (500, 502, 503, ...); with
        `after`, only once that many calls of it went through (Slack failing mid-way)."""
        with self.lock:
            error = SERVER_ERRORS.get(status, "internal_error")
            self.faults.add(Fault(method, status, error, None, times, after))

    def fail(self, method: str, error: str, *, times: int | None = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}`."""
        with self.lock:
            self.faults.add(Fault(method, 200, error, None, times))

    def delay(self, method: str, seconds: float) -> None:
        """Answer every call of `method` (or `"*"`) `seconds` late."""
        with self.lock:
            self.faults.latency[method] = seconds

    def clear_faults(self) -> None:
        """Slack is well again: no more faults or delays, and calls a delay holds are
        answered now."""
        with self.lock:
            self.faults.clear()
            self._back.set()
            self._back = threading.Event()

    # -- request handling (called from server threads) -----------------------------------

    def handle_api(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Status, extra headers and JSON body for one Web API call; records it."""
        with self.lock:
            delay = self.faults.delay_for(method)
            if delay:
                self._held.append(method)
                back = self._back
        if delay:
            try:
                back.wait(delay)
            finally:
                with self.lock:
                    self._held.remove(method)
        # Copied before handling: handlers may take parts of the arguments as their own.
        record_args = copy.deepcopy({k: v for k, v in args.items() if k != "token"})
        with self.lock:
            status, extra_headers, body = self._answer(method, args, headers)
            self._calls.append(
                RecordedCall(method, record_args, headers, self.clock(), status, body)
            )
            return status, extra_headers, copy.deepcopy(body)

    def _answer(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if method not in METHODS and method not in APP_LEVEL_METHODS:
            return 404, {}, {"ok": False, "error": "unknown_method", "req_method": method}
        token = _bearer(headers) or args.get("token")
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        app_level = token == self.workspace.app_token
        team = None if app_level else self.workspace.team_for_token(str(token))
        if not app_level and team is None:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if app_level != (method in APP_LEVEL_METHODS):
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
        fault = self.faults.take(method, self.clock())
        if fault is not None:
            extra = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            return fault.status, extra, {"ok": False, "error": fault.error}
        if team is None:  # apps.connections.open, the one app-level method
            return 200, {}, {"ok": True, "url": self.socket_mode.new_url()}
        now = self.clock()
        self.workspace.deliver_due(now)
        try:
            missing = missing_arguments(method, args)
            if missing:
                raise invalid_arguments(*(f"missing required field: {m}" for m in missing))
            result = METHODS[method].handler(CallContext(self.workspace, team, now), args)
        except SlackError as exc:
            return 200, {}, {"ok": False, "error": exc.error, **exc.extra}
        return 200, {}, {"ok": True, **result}

    def handle_response_url(self, url: str, body: Any) -> tuple[int, str]:
        """Status and plain-text answer for a POST to a response_url, like Slack's."""
        with self.lock:
            status, text = self._apply_response(url, body)
            payload = body if isinstance(body, dict) else {"raw": body}
            target = self._response_urls.get(url)
            user = target.user_id if target else None
            self._response_posts.append(
                ResponseUrlPost(url, payload, self.clock(), status, user_id=user)
            )
            return status, text

    def _apply_response(self, url: str, body: Any) -> tuple[int, str]:
        target = self._response_urls.get(url)
        if target is None:
            return 404, "no_service"
        fault = self.faults.take(RESPONSE_URL, self.clock())
        if fault is not None:  # an error answer (`fail`) is a 4xx here, as on Slack's webhooks
            return (404 if fault.status == 200 else fault.status), fault.error
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        blocks = body.get("blocks")
        if blocks is not None and message_block_errors(blocks):
            return 400, "invalid_blocks"
        text = str(body.get("text") or "")
        if not body.get("delete_original") and not text and not blocks:
            return 400, "no_text"
        ws, now = self.workspace, self.clock()
        original = (
            ws.find_message(target.channel_id, target.message_ts)
            if target.channel_id and target.message_ts
            else None
        )
        if body.get("delete_original") and original is not None:
            ws.messages[original.channel].remove(original)
        elif body.get("replace_original") and original is not None:
            original.edits.append(
                {"text": original.text, "blocks": original.blocks, "edited_ts": ws.new_ts(now)}
            )
            original.text, original.blocks = text, blocks
        elif body.get("response_type") == "in_channel" and target.channel_id:
            team = ws.teams[target.team_id]
            thread_ts = body.get("thread_ts")
            ws.messages.setdefault(target.channel_id, []).append(
                Message(
                    target.channel_id,
                    ws.new_ts(now),
                    team.bot_user_id,
                    text,
                    blocks,
                    thread_ts=thread_ts,
                    bot_id=team.bot_id,
                )
            )
        elif target.user_id and target.channel_id:
            ws.ephemeral.append(
                EphemeralMessage(
                    target.channel_id, target.user_id, ws.new_ts(now), text, blocks, None
                )
            )
        return 200, "ok"


def _bearer(headers: dict[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when many clients call at once.
    request_queue_size = 128


class _RequestHandler(BaseHTTPRequestHandler):
    server_version = "SlackEmulator/1"
    protocol_version = "HTTP/1.1"

    @property
    def emulator(self) -> SlackEmulator:
        return self.server.emulator  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator records calls instead of logging them."""

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        if url.path.startswith("/api/"):
            args: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
            problem = _parse_body(raw, self.headers.get("Content-Type"), args)
            method = url.path.removeprefix("/api/")
            if problem:
                self._send_json(200, {}, {"ok": False, "error": problem})
                return
            status, extra, body = self.emulator.handle_api(method, args, headers)
            self._send_json(status, extra, body)
        elif url.path.startswith("/response/"):
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw.decode("utf-8", "replace")
            full_url = f"{self.emulator.base_url}{url.path}"
            status, text = self.emulator.handle_response_url(full_url, body)
            self._send(status, {"Content-Type": "text/plain"}, text.encode())
        else:
            self._send(404, {"Content-Type": "text/plain"}, b"not found")

    def _send_json(self, status: int, extra: dict[str, str], body: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", **extra}
        self._send(status, headers, json.dumps(body).encode())

    def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _parse_body(raw: bytes, content_type: str | None, args: dict[str, Any]) -> str | None:
    """Merge the request body into `args`; Slack's error name when the body is unusable."""
    if not raw:
        return None
    if not content_type:
        return "missing_post_type"
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            return "invalid_json"
        if not isinstance(body, dict):
            return "invalid_json"
        args.update(body)
    elif kind == "application/x-www-form-urlencoded":
        try:
            args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            return "invalid_form_data"
    else:
        return "invalid_post_type"
    return None


def demo_workspace() -> Workspace:
    """A small workspace to try the bot against: a team, four people, a few channels."""
    ws = Workspace()
    ws.add_team()
    ws.add_user("U0AUTHOR", "author", tz="Europe/Rome", tz_offset=3600)
    ws.add_user("U0EDITOR", "editor", tz="America/New_York", tz_offset=-18000)
    ws.add_user("U0LEGAL", "legal", tz="Europe/London")
    ws.add_user("U0ADMIN", "admin", tz="Asia/Tokyo", tz_offset=32400)
    people = ["U0AUTHOR", "U0EDITOR", "U0LEGAL", "U0ADMIN"]
    ws.add_usergroup("S0EDITORS", ["U0EDITOR"], handle="editors")
    ws.add_channel("C0DRAFTS", "drafts", members=people)
    ws.add_channel("C0APPROVALS", "approvals", members=people)
    ws.add_channel("C0ANNOUNCE", "announcements", members=people)
    return ws


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox.emulator", description="Run the local Slack Web API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args(argv)
    emulator = SlackEmulator(demo_workspace(), host=args.host, port=args.port).start()
    print(f"SLACK_API_URL={emulator.api_url}")
    print(f"SLACK_BOT_TOKEN={emulator.bot_token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
