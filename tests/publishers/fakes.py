"""Local HTTP servers that answer like the real services the publishers call.

`LocalServer` is the plumbing (a threaded server on a free port that records every request);
`WebhookReceiver`, `FakeMastodon` and `FakePds` hold each service's behaviour: status codes,
error bodies and rate-limit headers as the real ones send them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: A `Reply.status` that makes the server answer bytes that are not HTTP.
GARBAGE = 0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode("utf-8")


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 that hands each request to `route` and records it."""

    def __init__(self, route: Callable[[Request], Reply]) -> None:
        self._route = route
        self.requests: list[Request] = []
        self.peers: list[int] = []  # each request's client port: one per TCP connection
        #: Seconds an idle kept-alive connection stays open (None: until the client closes it).
        self.idle_timeout: float | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                self.timeout = server.idle_timeout
                super().setup()

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with server._lock:
                    server.requests.append(request)
                    server.peers.append(self.client_address[1])
                reply = server._route(request)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.payload()
                if reply.status == GARBAGE:
                    self.close_connection = True
                    self.wfile.write(b"this is not HTTP\r\n\r\n")
                    return
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class WebhookReceiver:
    """A receiver as a Zapier/n8n-style integration would write one: it checks the signature,
    keeps the idempotency keys it has seen and stores each post once."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.stored: dict[str, dict[str, Any]] = {}
        self.arrivals: list[str] = []  # every accepted request's idempotency key, in order
        self.latency = 0.0  # seconds to think before answering, like a slow integration
        self.lock = threading.Lock()
        self.script: list[Reply] = []  # answers to give first, in order
        self.server = LocalServer(self._route)

    def _route(self, request: Request) -> Reply:
        if self.script:
            return self.script.pop(0)
        expected = (
            "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(request.headers.get("x-greenlight-signature", ""), expected):
            return Reply(401, {"error": "bad signature"})
        key = request.headers.get("idempotency-key", "")
        time.sleep(self.latency)
        with self.lock:
            self.arrivals.append(key)
            if key not in self.stored:
                self.stored[key] = {"id": f"evt_{len(self.stored) + 1}", **request.json()}
            return Reply(200, {"id": self.stored[key]["id"]})


class FakeMastodon:
    """POST /api/v1/statuses as Mastodon answers it: Bearer token, 422 for invalid statuses,
    `Idempotency-Key` honoured (the same key returns the same status), 429 with X-RateLimit-*
    headers when `rate_limited` is set, and the instance endpoints clients read."""

    TOKEN = "fake-mastodon-token"
    MAX_CHARS = 500

    def __init__(self) -> None:
        self.statuses: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.rate_limited_for: float | None = None
        self.server_errors = 0
        #: seconds a new status is answered late (after it is stored): a lost answer
        self.post_delay = 0.0
        self.server = LocalServer(self._route)

    def _route(self, request: Request) -> Reply:
        if request.path in ("/api/v1/instance", "/api/v2/instance"):
            return Reply(
                200,
                {"uri": "mastodon.example", "version": "4.3.0", "api_versions": {"mastodon": 2}},
            )
        if request.headers.get("authorization") != f"Bearer {self.TOKEN}":
            return Reply(401, {"error": "The access token is invalid"})
        if request.path != "/api/v1/statuses" or request.method != "POST":
            return Reply(404, {"error": "Record not found"})
        if self.rate_limited_for is not None:
            reset = time.strftime(
                "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + self.rate_limited_for)
            )
            return Reply(
                429,
                {"error": "Too many requests"},
                {
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset,
                    "Date": formatdate(usegmt=True),
                },
            )
        if self.server_errors:
            self.server_errors -= 1
            return Reply(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        form = request.form()
        text = form.get("status", [""])[0]
        visibility = form.get("visibility", ["public"])[0]
        key = request.headers.get("idempotency-key")
        if key and key in self.by_key:
            return Reply(200, self.statuses[self.by_key[key]])
        if not text.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if len(text) > self.MAX_CHARS:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        status_id = str(109_000_000_000_000_000 + len(self.statuses) + 1)
        status = {
            "id": status_id,
            "created_at": "2026-11-26T04:30:00.000Z",
            "content": f"<p>{text}</p>",
            "visibility": visibility,
            "uri": f"https://mastodon.example/users/acme/statuses/{status_id}",
            "url": f"https://mastodon.example/@acme/{status_id}",
            "account": {"id": "1", "username": "acme", "acct": "acme"},
            "text": text,  # what was received, kept for the tests (Mastodon answers HTML only)
        }
        self.statuses[status_id] = status
        if key:
            self.by_key[key] = status_id
        return Reply(200, status, delay=self.post_delay)


def _jwt(claims: dict[str, Any]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "ES256K", "typ": "at+jwt"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}.{b64(b'not-a-signature')}"


class FakePds:
    """The XRPC methods a Bluesky client uses, as a PDS answers them: createSession with an app
    password, createRecord / putRecord / getRecord on the account's repo (a createRecord with
    an rkey already taken is refused, as the PDS does), resolveHandle, and 429 with RateLimit-*
    headers when `rate_limited` is set."""

    PASSWORD = "abcd-efgh-ijkl-mnop"

    def __init__(self) -> None:
        self.accounts = {"acme.bsky.social": "did:plc:acme0000000000000000000"}
        self.records: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.sessions = 0
        self.rate_limited_for: int | None = None
        #: how a createRecord on a taken key is refused: newer PDSes say RecordAlreadyExists,
        #: older ones answer 500
        self.duplicate_reply = (400, "RecordAlreadyExists")
        #: seconds a write is answered late (after it is stored): a lost answer
        self.write_delay = 0.0
        self.server = LocalServer(self._route)

    def _route(self, request: Request) -> Reply:
        nsid = request.path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession":
            return self._create_session(request.json())
        if nsid == "com.atproto.identity.resolveHandle":
            handle = request.query.get("handle", [""])[0]
            if handle not in self.accounts:
                return _xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
            return Reply(200, {"did": self.accounts[handle]})
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return Reply(401, {"error": "AuthMissing", "message": "Authentication Required"})
        if self.rate_limited_for is not None:
            reset = int(time.time()) + self.rate_limited_for
            return Reply(
                429,
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                {
                    "RateLimit-Limit": "5000",
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(reset),
                    "RateLimit-Policy": "5000;w=3600",
                },
            )
        if nsid in ("com.atproto.repo.createRecord", "com.atproto.repo.putRecord"):
            return self._write(nsid, request.json())
        if nsid == "com.atproto.repo.getRecord":
            q = {k: v[0] for k, v in request.query.items()}
            key = (self._did(q["repo"]) or "", q["collection"], q["rkey"])
            if key not in self.records:
                return _xrpc_error(400, "RecordNotFound", "Could not locate record")
            return Reply(200, {"uri": self._uri(key), "cid": "bafy", "value": self.records[key]})
        return Reply(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})

    def _create_session(self, body: dict[str, Any]) -> Reply:
        handle = body.get("identifier")
        if handle not in self.accounts or body.get("password") != self.PASSWORD:
            return Reply(
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            )
        self.sessions += 1
        did = self.accounts[handle]
        now = int(time.time())
        return Reply(
            200,
            {
                "did": did,
                "handle": handle,
                "active": True,
                "accessJwt": _jwt(
                    {"scope": "com.atproto.appPass", "sub": did, "iat": now, "exp": now + 7200}
                ),
                "refreshJwt": _jwt(
                    {
                        "scope": "com.atproto.refresh",
                        "sub": did,
                        "iat": now,
                        "exp": now + 90 * 86400,
                    }
                ),
            },
        )

    def _did(self, repo: str) -> str | None:
        return repo if repo.startswith("did:") else self.accounts.get(repo)

    def _uri(self, key: tuple[str, str, str]) -> str:
        return f"at://{key[0]}/{key[1]}/{key[2]}"

    def _write(self, nsid: str, body: dict[str, Any]) -> Reply:
        did = self._did(body.get("repo", ""))
        if did is None:
            return Reply(400, {"error": "InvalidRequest", "message": "Could not find repo"})
        record = body.get("record") or {}
        if record.get("$type") != body.get("collection") or not isinstance(record.get("text"), str):
            return _xrpc_error(400, "InvalidRequest", "Invalid app.bsky.feed.post record")
        if len(record["text"]) > 300:
            return _xrpc_error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: "
                "Record/text must not be longer than 300 graphemes",
            )
        rkey = body.get("rkey") or f"3l{len(self.records):011d}"
        key = (did, body["collection"], rkey)
        if nsid.endswith("createRecord") and key in self.records:
            status, error = self.duplicate_reply
            return _xrpc_error(status, error, f"Record already exists: {self._uri(key)}")
        self.records[key] = record
        answer = {
            "uri": self._uri(key),
            "cid": "bafyfake",
            "commit": {"cid": "bafycommit", "rev": "3lrev000000"},
        }
        return Reply(200, answer, delay=self.write_delay)


def _xrpc_error(status: int, error: str, message: str) -> Reply:
    return Reply(status, {"error": error, "message": message})
