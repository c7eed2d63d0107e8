"""Webhook publisher: POST the approved post as signed JSON (Zapier, Make, n8n, Buffer-style).

The body is `{post_id, revision, text, targets, campaign, approvals, idempotency_key}`, UTF-8
JSON. Headers: `X-Greenlight-Signature: sha256=<hex HMAC-SHA256 of the raw body>`,
`X-Greenlight-Timestamp` (Unix seconds when sent) and `Idempotency-Key`, which is the same on
every retry of one revision to one target, so a receiver that keeps the keys it has seen can
drop a repeated delivery. That is why the publisher is `idempotent`.

Redirects are not followed: a POST silently turned into a GET would lose the post, so a 3xx is
a permanent failure that tells the admin to write the final URL in the workflow file.

Connections are kept alive (HTTP/1.1, one per calling thread): a TCP (and TLS) handshake per
post would cost more than the post. A receiver that closed an idle connection gets the POST
again on a new one, which the idempotency key makes safe.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import ssl
import threading
import time
import urllib.parse
from email.message import Message

from bot.publishers.base import (
    PermanentFailure,
    Publication,
    Published,
    TemporaryFailure,
    retry_after_seconds,
)

#: How much of a refusing receiver's body is shown to humans.
BODY_SHOWN = 500
USER_AGENT = "Greenlight-Webhook/1"
#: A kept-alive connection the receiver closed while it sat idle fails like this when reused.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def body_of(publication: Publication) -> bytes:
    """The JSON document, as bytes: what is signed is exactly what is sent."""
    document = {
        "post_id": publication.post_id,
        "revision": publication.revision,
        "text": publication.text,
        "targets": list(publication.targets),
        "campaign": publication.campaign,
        "approvals": list(publication.approvals),
        "idempotency_key": publication.idempotency_key,
    }  # every field of `Publication` (`dataclasses.asdict` deep-copies: much slower)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookPublisher:
    """Thread-safe: each thread keeps its own HTTP/1.1 connection to the receiver alive."""

    idempotent = True

    def __init__(self, target_name: str, url: str, secret: str, timeout: float = 10.0) -> None:
        self.target_name = target_name
        self.url = url
        self._secret = secret
        self.timeout = timeout
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname or "", parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._local = threading.local()

    def publish(self, publication: Publication) -> Published:
        body = body_of(publication)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": publication.idempotency_key,
            "X-Greenlight-Timestamp": str(int(time.time())),
            "X-Greenlight-Signature": signature(self._secret, body),
        }
        try:
            status, answer_headers, answer = self._post(body, headers)
        except TimeoutError as exc:
            raise TemporaryFailure(f"{self.url} did not answer in {self.timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:  # refused, resets, bad answers
            raise TemporaryFailure(f"cannot reach {self.url}: {exc}") from exc
        if 200 <= status < 300:
            return Published(remote_id=_remote_id(answer) or publication.idempotency_key)
        raise self._refusal(status, answer_headers, answer)

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, Message, bytes]:
        """One POST on this thread's connection, opened on first use and kept alive. When a
        kept-alive connection turns out to be closed by the receiver, the POST is sent once
        more on a new one: the same Idempotency-Key, so it cannot be stored twice."""
        connection = self._connection()
        reused = connection.sock is not None
        try:
            connection.request("POST", self._path, body, headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        except _STALE:
            connection.close()
            if not reused:
                raise
            return self._post(body, headers)
        except BaseException:
            connection.close()  # in an unknown state: the next call opens a new one
            raise

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=_tls()
                )
            else:
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
            self._local.connection = connection
        return connection

    def _refusal(
        self, status: int, headers: Message, answer: bytes
    ) -> PermanentFailure | TemporaryFailure:
        shown = answer.decode("utf-8", errors="replace")
        if len(shown) > BODY_SHOWN:
            shown = shown[:BODY_SHOWN] + "…"
        message = f"{self.url} answered {status}" + (f": {shown}" if shown.strip() else "")
        if status == 429 or status >= 500:
            return TemporaryFailure(message, retry_after_seconds(headers.get("Retry-After")))
        if 300 <= status < 400:
            where = headers.get("Location") or "another address"
            return PermanentFailure(
                f"{self.url} redirects to {where}; put the final URL in the workflow file"
            )
        return PermanentFailure(message)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every receiver (building one reads the CA store)."""
    return ssl.create_default_context()


def _remote_id(answer: bytes) -> str | None:
    """The receiver's `id` for what it stored, when it answers JSON with one."""
    try:
        document = json.loads(answer)
    except ValueError:
        return None
    found = document.get("id") if isinstance(document, dict) else None
    return str(found) if found not in (None, "") else None
