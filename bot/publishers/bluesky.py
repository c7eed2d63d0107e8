"""Bluesky publisher: an `app.bsky.feed.post` record via the atproto SDK.

Never twice: the record key is derived from the publication's idempotency key, so every retry
of one revision to one target writes to the same key, and `com.atproto.repo.createRecord`
refuses a key that is taken. When a create fails in any way (a refusal, a 5xx, a timeout whose
request may have landed), the publisher reads the record at that key; if it is there, the post
is out and its URI is returned. Hence `idempotent`.

The key must be a TID (the post lexicon's key type): 13 base32-sortable characters holding a
microsecond timestamp and a 10-bit clock id. The timestamp is the second of the last approval
(so the key sorts where the post belongs) plus sub-second digits and a clock id taken from a
SHA-256 of the idempotency key.

Sessions (createSession with an app password) are cached per process and per account: the
login endpoint is rate limited much more strictly than posting.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime

from atproto import Client, client_utils, models
from atproto.exceptions import (
    AtProtocolError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)
from atproto_client.request import Request

from bot.publishers.base import PermanentFailure, Publication, Published, TemporaryFailure
from bot.publishers.facets import spans

POST = models.ids.AppBskyFeedPost
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"

_sessions: dict[tuple[str, str], Client] = {}
_sessions_lock = threading.Lock()


def record_key(publication: Publication) -> str:
    """A TID that depends only on the publication (see the module docstring)."""
    digest = int.from_bytes(
        hashlib.sha256(publication.idempotency_key.encode("utf-8")).digest()[:8], "big"
    )
    approved = _last_approval(publication)
    if approved is not None:
        micros = int(approved.timestamp()) * 1_000_000 + digest % 1_000_000
    else:
        micros = digest >> 11  # any 53-bit timestamp: still a valid, stable TID
    value = (micros << 10) | ((digest >> 40) & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _last_approval(publication: Publication) -> datetime | None:
    times = []
    for approval in publication.approvals:
        try:
            when = datetime.fromisoformat(approval["at"])
        except (KeyError, TypeError, ValueError):
            continue
        times.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    return max(times, default=None)


class BlueskyPublisher:
    idempotent = True

    def __init__(
        self,
        target_name: str,
        handle: str,
        password: str,
        service: str = "https://bsky.social",
        timeout: float = 30.0,
    ) -> None:
        self.target_name = target_name
        self.handle = handle.removeprefix("@")
        self.service = service
        self.timeout = timeout
        self._password = password

    def publish(self, publication: Publication) -> Published:
        client = self._client()
        rkey = record_key(publication)
        facets = self._facets(client, publication.text)
        record = models.AppBskyFeedPost.Record(
            text=publication.text, facets=facets or None, created_at=client.get_current_time_iso()
        )
        try:
            created = client.com.atproto.repo.create_record(
                models.ComAtprotoRepoCreateRecord.Data(
                    repo=self.handle, collection=POST, rkey=rkey, record=record
                )
            )
            uri = created.uri
        except AtProtocolError as exc:
            existing = self._existing(client, rkey)
            if existing is None:
                raise self._failure(exc) from None
            uri = existing
        return Published(
            remote_id=uri, permalink=f"https://bsky.app/profile/{self.handle}/post/{rkey}"
        )

    def _client(self) -> Client:
        key = (self.service, self.handle)
        with _sessions_lock:
            client = _sessions.get(key)
            if client is None:
                client = Client(base_url=self.service, request=Request(timeout=self.timeout))
                try:
                    client.login(self.handle, self._password, fetch_bsky_profile=False)
                except AtProtocolError as exc:
                    raise self._failure(exc, signing_in=True) from None
                _sessions[key] = client
            return client

    def _facets(self, client: Client, text: str) -> list[models.AppBskyRichtextFacet.Main]:
        """Facets with UTF-8 byte offsets; the builder rebuilds exactly `text` around them."""
        builder = client_utils.TextBuilder()
        done = 0
        for span in spans(text):
            builder.text(text[done : span.start])
            shown = text[span.start : span.end]
            if span.kind == "link":
                builder.link(shown, span.value)
            elif span.kind == "tag":
                builder.tag(shown, span.value)
            elif did := self._did(client, span.value):
                builder.mention(shown, did)
            else:
                builder.text(shown)  # an unknown handle stays text
            done = span.end
        builder.text(text[done:])
        assert builder.build_text() == text
        return builder.build_facets()

    def _did(self, client: Client, handle: str) -> str | None:
        try:
            return client.com.atproto.identity.resolve_handle({"handle": handle}).did
        except AtProtocolError:
            return None

    def _existing(self, client: Client, rkey: str) -> str | None:
        """The URI of the record at `rkey`, when an earlier attempt created it."""
        try:
            found = client.com.atproto.repo.get_record(
                {"repo": self.handle, "collection": POST, "rkey": rkey}
            )
        except AtProtocolError:
            return None
        return found.uri

    def _failure(
        self, exc: AtProtocolError, *, signing_in: bool = False
    ) -> PermanentFailure | TemporaryFailure:
        response = exc.response if isinstance(exc, RequestErrorBase) else None
        said = f"{self.service} answered {exc}"
        if isinstance(exc, RateLimitExceededError):
            wait = exc.retry_after
            if wait is None and exc.reset_at is not None:
                wait = max((exc.reset_at - datetime.now(UTC)).total_seconds(), 0.0)
            return TemporaryFailure(f"{self.service} is rate limiting {self.handle}", wait)
        if response is None:
            cause = exc.__cause__ or type(exc).__name__
            return TemporaryFailure(f"cannot reach {self.service}: {cause}")
        if isinstance(exc, UnauthorizedError):
            if signing_in:
                return PermanentFailure(
                    f"{self.service} refused the app password of {self.handle} "
                    f"(target {self.target_name!r}): {exc}"
                )
            with _sessions_lock:
                _sessions.pop((self.service, self.handle), None)
            return TemporaryFailure(f"the session of {self.handle} ended; signing in again")
        if response.status_code >= 500 or (
            isinstance(exc, NetworkError) and response.status_code != 413
        ):
            return TemporaryFailure(said)
        return PermanentFailure(said)
