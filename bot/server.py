"""HTTP mode: the Bolt app behind gunicorn (its WSGI adapter), with health endpoints.

`POST /slack/events` takes events, commands and interactivity; `GET /healthz` says the process
is up; `GET /readyz` says Redis answers and the workflow file is loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.app import build_app, load_greenlight
from bot.request_body import FastBoltRequest
from bot.runtime import started
from bot.settings import Settings

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SlackHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, with request bodies decoded by `bot.request_body` (in C)."""

    def __init__(self, app: App, signing_secret: str) -> None:
        super().__init__(app)
        self.verifier = SignatureVerifier(signing_secret)

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        headers, environ = request.get_headers(), request.environ
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if "wsgi.input" in environ else b""
        try:
            body = raw.decode("utf-8")
            bolt_request = FastBoltRequest(body=body, query=request.query_string, headers=headers)
        except (ValueError, AttributeError, TypeError):  # not UTF-8, not JSON, not an object
            # Bolt checks signatures after decoding: an unsigned one is still a 401 first.
            signed = self._signed(raw, headers)
            error = "malformed request" if signed else "invalid signature"
            return BoltResponse(status=400 if signed else 401, body=json.dumps({"error": error}))
        return self.app.dispatch(bolt_request)

    def _signed(self, body: bytes, headers: Mapping[str, Any]) -> bool:
        try:
            return self.verifier.is_valid_request(body, {k: str(v) for k, v in headers.items()})
        except ValueError:  # a timestamp that is not a number
            return False


def create_wsgi_app(settings: Settings) -> WsgiApp:
    if not settings.slack_signing_secret:  # `load_settings` asks for it in HTTP mode
        raise ValueError("SLACK_SIGNING_SECRET is needed to serve HTTP")
    gl = load_greenlight(settings)
    slack = SlackHandler(build_app(gl), settings.slack_signing_secret)

    def reply(start_response, status: str, body: dict[str, Any]) -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def application(environ: dict[str, Any], start_response) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and method == "POST":
            return slack(environ, start_response)
        if path == "/healthz":
            return reply(start_response, "200 OK", {"status": "up"})
        if path == "/readyz":
            try:
                gl.redis.ping()
            except Exception as exc:
                return reply(
                    start_response,
                    "503 Service Unavailable",
                    {"status": "not ready", "redis": str(exc)},
                )
            return reply(
                start_response, "200 OK", {"status": "ready", "workflows": len(gl.config.workflows)}
            )
        return reply(start_response, "404 Not Found", {"error": "not found"})

    return application


class GunicornServer(BaseApplication):
    """gunicorn in-process: each worker builds its own app after the fork."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"0.0.0.0:{self.settings.port}",
            "workers": self.settings.web_concurrency,
            "worker_class": "gthread",
            "threads": self.settings.gunicorn_threads,
            "timeout": 30,
            "graceful_timeout": 20,
            "accesslog": None,
            "loglevel": self.settings.log_level.lower(),
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> WsgiApp:
        app = create_wsgi_app(self.settings)
        started()
        return app
