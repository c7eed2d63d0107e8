"""Webhook publisher: POST the approved post as signed JSON (Zapier, Make, n8n, Buffer-style).

The body is `{post_id, revision, text, targets, campaign, approvals, idempotency_key}`, UTF-8
JSON. Headers: `X-Greenlight-Signature: sha256=<hex HMAC-SHA256 of the raw body>`,
`X-Greenlight-Timestamp` (Unix seconds when sent) and `Idempotency-Key`, which is the same on
every retry of one revision to one target, so a receiver that keeps the keys it has seen can
drop a repeated delivery. That is why the publisher is `idempotent`.

Redirects are not followed: a POST silently turned into a GET would lose the post, so a 3xx is
a permanent failure that tells the admin to write the final URL in the workflow file.

The POST is made by libcurl (`pycurl`), one handle per calling thread, which keeps its HTTP/1.1
connection alive: a TCP (and TLS) handshake per post would cost more than the post. A receiver
that closed an idle connection gets the POST again on a new one (libcurl does that by itself
for a connection it reused), which the idempotency key makes safe. libcurl also makes the whole
request without holding the GIL, so a worker's Python work goes on while its calls wait, and it
costs about half the CPU of `http.client` per request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import ssl
import threading
import time
from io import BytesIO

import pycurl

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
    """Thread-safe: each thread keeps its own libcurl handle, and with it its connection."""

    idempotent = True

    def __init__(self, target_name: str, url: str, secret: str, timeout: float = 10.0) -> None:
        self.target_name = target_name
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self._local = threading.local()

    def publish(self, publication: Publication) -> Published:
        body = body_of(publication)
        headers = [
            "Content-Type: application/json; charset=utf-8",
            f"User-Agent: {USER_AGENT}",
            f"Idempotency-Key: {publication.idempotency_key}",
            f"X-Greenlight-Timestamp: {int(time.time())}",
            f"X-Greenlight-Signature: {signature(self._secret, body)}",
            "Expect:",  # no "100-continue" round trip before larger bodies
        ]
        try:
            status, answer_headers, answer = self._post(body, headers)
        except pycurl.error as exc:
            code, reason = exc.args
            if code == pycurl.E_OPERATION_TIMEDOUT:
                raise TemporaryFailure(f"{self.url} did not answer in {self.timeout:g} s") from exc
            raise TemporaryFailure(f"cannot reach {self.url}: {reason}") from exc  # refused, ...
        if 200 <= status < 300:
            return Published(remote_id=_remote_id(answer) or publication.idempotency_key)
        raise self._refusal(status, answer_headers, answer)

    def _post(self, body: bytes, headers: list[str]) -> tuple[int, dict[str, str], bytes]:
        """One POST with this thread's handle: the status, the answer's headers (names in lower
        case) and its body. Redirects are not followed (libcurl's default)."""
        curl = self._handle()
        answer, answer_headers = BytesIO(), _HeaderLines()
        curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.HTTPHEADER, headers)
        curl.setopt(pycurl.WRITEDATA, answer)
        curl.setopt(pycurl.HEADERFUNCTION, answer_headers.add)
        try:
            curl.perform()
        except BaseException:
            curl.close()  # in an unknown state: the next call starts afresh
            del self._local.curl
            raise
        return curl.getinfo(pycurl.RESPONSE_CODE), answer_headers.fields, answer.getvalue()

    def _handle(self) -> pycurl.Curl:
        curl: pycurl.Curl | None = getattr(self._local, "curl", None)
        if curl is None:
            curl = pycurl.Curl()
            curl.setopt(pycurl.URL, self.url)
            curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
            curl.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: safe in threads
            curl.setopt(pycurl.TIMEOUT_MS, int(self.timeout * 1000))  # the whole request
            curl.setopt(pycurl.PROXY, "")  # straight to the receiver, whatever *_proxy says
            for option, path in _ca_locations():
                curl.setopt(option, path)
            self._local.curl = curl
        return curl

    def _refusal(
        self, status: int, headers: dict[str, str], answer: bytes
    ) -> PermanentFailure | TemporaryFailure:
        shown = answer.decode("utf-8", errors="replace")
        if len(shown) > BODY_SHOWN:
            shown = shown[:BODY_SHOWN] + "…"
        message = f"{self.url} answered {status}" + (f": {shown}" if shown.strip() else "")
        if status == 429 or status >= 500:
            return TemporaryFailure(message, retry_after_seconds(headers.get("retry-after")))
        if 300 <= status < 400:
            where = headers.get("location") or "another address"
            return PermanentFailure(
                f"{self.url} redirects to {where}; put the final URL in the workflow file"
            )
        return PermanentFailure(message)


class _HeaderLines:
    """Collects an answer's header fields as libcurl hands over its lines (a status line
    starts the fields afresh, so only the final answer's remain)."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, line: bytes) -> None:
        text = line.decode("iso-8859-1").strip()
        if text.startswith("HTTP/"):
            self.fields = {}
        elif ":" in text:
            name, value = text.split(":", 1)
            self.fields[name.strip().lower()] = value.strip()


def _ca_locations() -> list[tuple[int, str]]:
    """The system's trusted certificates, as Python's `ssl` finds them (SSL_CERT_FILE and
    SSL_CERT_DIR included), rather than the path compiled into the libcurl wheel."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.cafile or (
        paths.openssl_cafile if os.path.exists(paths.openssl_cafile) else None
    )
    capath = paths.capath or (paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None)
    return [
        *([(pycurl.CAINFO, cafile)] if cafile else []),
        *([(pycurl.CAPATH, capath)] if capath else []),
    ]


def _remote_id(answer: bytes) -> str | None:
    """The receiver's `id` for what it stored, when it answers JSON with one."""
    try:
        document = json.loads(answer)
    except ValueError:
        return None
    found = document.get("id") if isinstance(document, dict) else None
    return str(found) if found not in (None, "") else None
