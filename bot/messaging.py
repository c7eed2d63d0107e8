"""Reaching the people a workflow names, shared by the notifier, reminders and digests: who
a step's users and groups are, their time zone, an approval card by DM, a word to a draft's
author or to the admins, and a message sent once per person and step (`send_once`) that waits
a minute for a worker when Slack could not take it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import SlackDirectory
from workflows.models import Post
from workflows.store import Store

log = logging.getLogger(__name__)


def people_of(
    directory: SlackDirectory,
    users: Sequence[str],
    usergroups: Sequence[str],
    deleted: list[str] | None = None,
) -> list[str]:
    """The users, then each group's members, once each and in that order; groups Slack no
    longer knows are added to `deleted` when it is given."""
    people = list(dict.fromkeys(users))
    for group in usergroups:
        members = directory.members(group)
        if not members and deleted is not None and not directory.group_exists(group):
            deleted.append(group)
        people += sorted(members - set(people))
    return people


class SlackUnavailable(Exception):
    """Slack could not take a message that must arrive (it was down, busy or unreachable):
    what was being told is told again later."""


def slack_unavailable(exc: BaseException) -> bool:
    """Slack could not be reached (a connection error or timeout, after the client's own
    retries) or was down or busy (5xx, 429): unlike an error about the request, worth trying
    again later."""
    if isinstance(exc, SlackUnavailable):
        return True
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return status == 429 or status >= 500
    return isinstance(exc, OSError)


def slack_error(exc: BaseException) -> str:
    """What went wrong, in a word: the `error` Slack answered, else the exception's kind."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__


def zone_of(profile: dict | None, default: str) -> ZoneInfo:
    """The person's time zone from their Slack profile, else `default` (a checked zone name)."""
    try:
        return ZoneInfo((profile or {}).get("tz") or "")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


#: `dm_card`'s answer when Slack could not take the DM (`slack_unavailable`): worth trying again.
UNAVAILABLE = "slack_unavailable"
#: A DM about a post that Slack could not take is tried again this much later (by a worker's
#: reminders pass: `Store.dm_waits`).
SLACK_RETRY = timedelta(minutes=1)


def dm_card(
    client: WebClient, store: Store, user: str, text: str, blocks: list, post: Post
) -> str | None:
    """DM a message showing the post's card, remembered so it is updated with the post;
    returns Slack's error when it failed (UNAVAILABLE when Slack was down, busy or
    unreachable)."""
    try:
        channel = client.conversations_open(users=user)["channel"]["id"]
        reply = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except (SlackApiError, OSError) as exc:  # the others may still be told
        log.warning("could not DM %s about #%s: %s", user, post.id, slack_error(exc))
        return UNAVAILABLE if slack_unavailable(exc) else slack_error(exc)
    store.remember_message(post.id, reply["channel"], reply["ts"])
    return None


def tell_author(client: WebClient, post: Post, text: str) -> str | None:
    """Tell the author about their draft: a threaded reply under the draft's chat message when
    it has one, else (or when Slack refuses that reply: the message was deleted, say) a DM.
    Returns Slack's error when the text did not go out (UNAVAILABLE when Slack was down, busy
    or unreachable)."""
    source = post.source
    if source and source.channel and source.ts:
        try:
            client.chat_postMessage(channel=source.channel, thread_ts=source.ts, text=text)
            return None
        except (SlackApiError, OSError) as exc:
            if slack_unavailable(exc):
                return UNAVAILABLE  # a DM would fail too
            log.warning("thread reply failed for #%s: %s", post.id, slack_error(exc))
    try:
        client.chat_postMessage(channel=post.author, text=text)
        return None
    except (SlackApiError, OSError) as exc:
        log.warning("could not DM %s about #%s: %s", post.author, post.id, slack_error(exc))
        return UNAVAILABLE if slack_unavailable(exc) else slack_error(exc)


def send_once(
    store: Store,
    post: Post,
    user: str,
    kind: str,
    send: Callable[[], str | None],
    clock: Callable[[], datetime],
) -> tuple[str | None, datetime | None]:
    """`send()` (which answers Slack's error, or None) once per person, step and `kind` of
    message (`Store.claim_dm`), however many workers or retold entries try. One Slack could not
    take (UNAVAILABLE) is handed back and waits SLACK_RETRY for a worker's reminders pass
    (`Store.dm_waits`). Returns `send`'s error and, then, when it is tried again."""
    step, revision = post.current_step, post.revision.number
    assert step is not None
    if not store.claim_dm(post.id, revision, step, user, kind):
        return None, None  # sent already
    error = send()
    if error != UNAVAILABLE:
        return error, None
    retry = clock() + SLACK_RETRY  # a minute after the failure
    store.dm_waits(post.id, revision, step, user, kind, retry, unclaim=True)
    return error, retry


def dm_once(
    client: WebClient,
    store: Store,
    post: Post,
    user: str,
    kind: str,
    message: tuple[str, list],
    clock: Callable[[], datetime],
) -> tuple[str | None, datetime | None]:
    """`dm_card` (the `message`'s text and blocks) to `user` once (`send_once`)."""

    def send() -> str | None:
        return dm_card(client, store, user, *message, post)

    return send_once(store, post, user, kind, send, clock)


def tell_admins(client: WebClient, admins: Sequence[str], text: str) -> bool:
    """DM the workflow file's admins; with none, the log is the only place left. False when
    Slack was unavailable for one of them (worth telling again later)."""
    if not admins:
        log.warning("no admins to tell: %s", text)
    told = True
    for admin in admins:
        try:
            client.chat_postMessage(channel=admin, text=text)
        except (SlackApiError, OSError) as exc:
            log.warning("could not tell admin %s: %s", admin, slack_error(exc))
            told = told and not slack_unavailable(exc)
    return told
