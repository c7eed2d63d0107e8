"""Mastodon publisher: a status via Mastodon.py, with the publication's `Idempotency-Key`.

Mastodon keeps an `Idempotency-Key` for an hour and answers a repeated POST with the status it
already created, so a retry after an unknown outcome cannot post twice: the publisher is
`idempotent` (within that hour; the scheduler retries much sooner).

Mastodon.py runs with `ratelimit_method="throw"`: its default ("wait") would sleep inside the
worker's claim for as long as the instance says, up to five minutes. The wait the instance asked
for (its `X-RateLimit-Reset`, which Mastodon.py parses) becomes `TemporaryFailure.retry_after`.
No version check (`version_check_mode="none"`), so building the publisher makes no request.
"""

from __future__ import annotations

import threading
import time

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.publishers.base import PermanentFailure, Publication, Published, TemporaryFailure

USER_AGENT = "Greenlight"


class MastodonPublisher:
    idempotent = True

    def __init__(
        self,
        target_name: str,
        base_url: str,
        token: str,
        visibility: str = "public",
        timeout: float = 30.0,
    ) -> None:
        self.target_name = target_name
        self.base_url = base_url
        self.visibility = visibility
        self._api = Mastodon(
            access_token=token,
            api_base_url=base_url,
            ratelimit_method="throw",
            request_timeout=timeout,
            version_check_mode="none",
            user_agent=USER_AGENT,
        )
        self._lock = threading.Lock()  # Mastodon.py keeps rate-limit state on the client

    def publish(self, publication: Publication) -> Published:
        with self._lock:
            try:
                status = self._api.status_post(
                    publication.text,
                    visibility=self.visibility,
                    idempotency_key=publication.idempotency_key,
                )
            except MastodonError as exc:
                raise self._failure(exc) from None
        return Published(
            remote_id=str(status["id"]), permalink=status.get("url") or status.get("uri")
        )

    def _failure(self, exc: MastodonError) -> PermanentFailure | TemporaryFailure:
        if isinstance(exc, MastodonRatelimitError):
            reset = self._api.ratelimit_reset
            wait = max(reset - time.time(), 0.0) if reset else None
            return TemporaryFailure(f"{self.base_url} is rate limiting statuses", wait)
        if isinstance(exc, MastodonNetworkError):
            return TemporaryFailure(f"cannot reach {self.base_url}: {exc}")
        status, reason, detail = _api_error(exc)
        said = f"{self.base_url} answered {status}: {detail or reason}"
        if isinstance(exc, MastodonServerError):
            return TemporaryFailure(said)
        if isinstance(exc, MastodonUnauthorizedError):
            return PermanentFailure(
                f"{self.base_url} refused the access token of target {self.target_name!r} "
                f"({detail or reason})"
            )
        if isinstance(exc, MastodonAPIError):
            return PermanentFailure(said)
        return PermanentFailure(f"Mastodon.py refused the status: {exc}")


def _api_error(exc: MastodonError) -> tuple[object, str, str]:
    """Mastodon.py raises `(message, status, reason, error)`; the error is the instance's text."""
    args = (*exc.args, None, None, None, None)
    return args[1], str(args[2] or ""), str(args[3] or "")
