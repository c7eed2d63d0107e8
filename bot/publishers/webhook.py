"""Webhook publisher: POST the approved post as signed JSON (Zapier, Make, n8n, Buffer-style).

The body is `{post_id, revision, text, targets, campaign, approvals, idempotency_key}`, UTF-8
JSON. Headers: `X-Greenlight-Signature: sha256=<hex HMAC-SHA256 of the raw body>`,
`X-Greenlight-Timestamp` (Unix seconds when sent) and `Idempotency-Key`, which is the same on
every retry of one revision to one target, so a receiver that keeps the keys it has seen can
drop a repeated delivery. That is why the publisher is `idempotent`.

Redirects are not followed: a POST silently turned into a GET would lose the post, so a 3xx is
a permanent failure that tells the admin to write the final URL in the workflow file.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from typing import Any

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
    document = asdict(publication)
    document["targets"] = list(publication.targets)
    document["approvals"] = list(publication.approvals)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class WebhookPublisher:
    idempotent = True

    def __init__(self, target_name: str, url: str, secret: str, timeout: float = 10.0) -> None:
        self.target_name = target_name
        self.url = url
        self._secret = secret
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def publish(self, publication: Publication) -> Published:
        body = body_of(publication)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Idempotency-Key": publication.idempotency_key,
                "X-Greenlight-Timestamp": str(int(time.time())),
                "X-Greenlight-Signature": signature(self._secret, body),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc) from None
        except TimeoutError as exc:
            raise TemporaryFailure(f"{self.url} did not answer in {self.timeout:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:  # URLError, resets, bad answers
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise TemporaryFailure(f"{self.url} did not answer in {self.timeout:g} s") from exc
            raise TemporaryFailure(f"cannot reach {self.url}: {reason}") from exc
        return Published(remote_id=_remote_id(answer) or publication.idempotency_key)

    def _refusal(self, exc: urllib.error.HTTPError) -> PermanentFailure | TemporaryFailure:
        try:
            shown = exc.read().decode("utf-8", errors="replace")
        except OSError:
            shown = ""
        if len(shown) > BODY_SHOWN:
            shown = shown[:BODY_SHOWN] + "…"
        message = f"{self.url} answered {exc.code}" + (f": {shown}" if shown.strip() else "")
        if exc.code == 429:
            return TemporaryFailure(message, retry_after_seconds(exc.headers.get("Retry-After")))
        if exc.code >= 500:
            return TemporaryFailure(message, retry_after_seconds(exc.headers.get("Retry-After")))
        if 300 <= exc.code < 400:
            where = exc.headers.get("Location") or "another address"
            return PermanentFailure(
                f"{self.url} redirects to {where}; put the final URL in the workflow file"
            )
        return PermanentFailure(message)


def _remote_id(answer: bytes) -> str | None:
    """The receiver's `id` for what it stored, when it answers JSON with one."""
    try:
        document = json.loads(answer)
    except ValueError:
        return None
    found = document.get("id") if isinstance(document, dict) else None
    return str(found) if found not in (None, "") else None
