"""Slack publisher: chat.postMessage to the target's channel, exactly the approved text.

Byte-identical: the text goes as plain `text` with `mrkdwn: false`, so `*stars*` and `_under_`
stay characters, and with Slack's three control characters escaped (`&`, `<`, `>`), as Slack
asks, so `<!channel>` or `<https://x|y>` written in a draft shows as written instead of pinging
everyone or hiding a link. What people read in the channel is the approved text, character for
character; no blocks, so nothing else is added.

Retries belong to the scheduler: this client has no retry handlers at all. slack_sdk's
rate-limit handler would sleep inside the worker's claim, and its connection-error handler
would resend a message that may already be posted. A 429 becomes `TemporaryFailure` with the
`Retry-After` seconds; since a lost answer can leave a posted message behind, the publisher is
not idempotent and the scheduler asks a human after an unknown outcome.

An answer that never comes after the request was sent (a read timeout, a dropped connection)
is an `UnknownOutcome`: the message may be in the channel. Retrying could post it twice, so the
scheduler marks the target `outcome_unknown` and asks a human to look at the channel, then mark
it published or retry. A request that could not be sent at all (connection refused, DNS) is a
`TemporaryFailure`.

Slack allows about one message per second per channel. `ChannelPacer` spaces this process's
posts to one channel by that much; other processes are not coordinated (a 429 then still comes
back as a temporary failure with Slack's own wait).
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.publishers.base import (
    PermanentFailure,
    Publication,
    Published,
    TemporaryFailure,
    UnknownOutcome,
)
from bot.views.format import escape

#: Seconds between two posts to one channel from one process.
CHANNEL_INTERVAL = 1.0

#: Slack errors that no retry can fix, in words an admin can act on.
REFUSALS = {
    "channel_not_found": "the channel {channel} does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of {channel}: invite it with /invite",
    "is_archived": "the channel {channel} is archived",
    "msg_too_long": "the text is too long for a Slack message",
    "no_text": "the text is empty",
    "restricted_action": "a workspace setting stops the bot from posting in {channel}",
    "invalid_auth": "Slack refused the bot token",
    "account_inactive": "the bot's token was revoked",
    "token_revoked": "the bot's token was revoked",
    "missing_scope": "the bot lacks the chat:write scope",
}


class ChannelPacer:
    """Keeps posts to one channel at least `interval` seconds apart, within this process."""

    def __init__(
        self,
        interval: float = CHANNEL_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait_turn(self, channel: str) -> None:
        with self._lock:
            now = self._clock()
            turn = max(now, self._next.get(channel, now))
            self._next[channel] = turn + self.interval
        if turn > now:
            self._sleep(turn - now)


#: One pacer for every Slack target of this process: two targets may share a channel.
PACER = ChannelPacer()


def publishing_client(client: WebClient, timeout: float | None = None) -> WebClient:
    """A copy of the bot's client without retry handlers (see the module docstring), waiting
    `timeout` seconds (default: the bot client's) for an answer."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout if timeout is None else timeout,  # type: ignore[arg-type]
        proxy=client.proxy,
        headers=dict(client.headers),
        retry_handlers=[],
    )


class SlackPublisher:
    idempotent = False

    def __init__(
        self,
        target_name: str,
        channel: str,
        client: WebClient,
        pacer: ChannelPacer = PACER,
        timeout: float | None = None,
    ) -> None:
        self.target_name = target_name
        self.channel = channel
        self.client = publishing_client(client, timeout)
        self.pacer = pacer

    def publish(self, publication: Publication) -> Published:
        self.pacer.wait_turn(self.channel)
        try:
            posted = self.client.chat_postMessage(
                channel=self.channel,
                text=escape(publication.text),
                mrkdwn=False,
            )
        except SlackApiError as exc:
            raise self._failure(exc) from None
        except urllib.error.URLError as exc:  # the request was not sent: safe to try again
            raise TemporaryFailure(f"cannot reach Slack: {exc.reason}") from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise UnknownOutcome(
                f"Slack did not confirm the message to {self.channel} ({exc!r}); it may have "
                "been posted: check the channel, then mark it published or retry"
            ) from exc
        channel, ts = posted["channel"], posted["ts"]
        return Published(remote_id=f"{channel}/{ts}", permalink=self._permalink(channel, ts))

    def _permalink(self, channel: str, ts: str) -> str | None:
        """The message's link; the post is out even when Slack cannot give one now."""
        try:
            return self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except (SlackClientError, OSError):
            return None

    def _failure(self, exc: SlackApiError) -> PermanentFailure | TemporaryFailure:
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if status == 429 or error == "ratelimited":
            wait = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after"
            )
            return TemporaryFailure(
                f"Slack is rate limiting posts to {self.channel}",
                float(wait) if wait else None,
            )
        if status >= 500 or error in ("internal_error", "service_unavailable", "fatal_error"):
            return TemporaryFailure(f"Slack answered {status} ({error or 'server error'})")
        words = REFUSALS.get(str(error), "Slack refused the message: {error}")
        return PermanentFailure(words.format(channel=self.channel, error=error))
