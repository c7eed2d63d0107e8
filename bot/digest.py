"""Sending digests: the worker jobs that keep the approval counters current and post each
configured digest once per local day, and the preview `/greenlight digest` shows.

Once per day whatever the number of workers: a worker claims a day's send in Redis (with a
lease, so a claim whose worker died lapses) and records how it ended; a restarted worker finds
the record and does not send again. A digest whose time passed while no worker ran goes out
when one starts, within its `grace`, marked late.

What cannot be delivered (a channel the bot is not in, an approver who left, a deleted user
group) is told to the workflow file's admins by DM; the rest still goes out. Slack itself
failing (5xx or 429 once the client's own retries are spent) is not an answer about the
channel: the day stays unsent, the claim lapses, and a later pass tries again within the grace.
A day Slack refused until it was no longer due is skipped, and the admins are told.
Personal DMs Slack failed during are sent by a later pass, each person's once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messaging import slack_error, slack_unavailable, tell_admins
from bot.runtime import Greenlight
from bot.views.digest import digest_blocks, digest_fallback, personal_digest
from bot.views.format import mention
from workflows import analytics
from workflows.config import Digest
from workflows.digest import DigestData, Occurrence, build_digest, due_occurrence
from workflows.models import Post
from workflows.store import Store

log = logging.getLogger(__name__)
#: How long a worker may take to send one digest before another may take over.
CLAIM_SECONDS = 120.0
#: Why a channel did not take the digest, in words an admin can act on.
CHANNEL_PROBLEMS = {
    "not_in_channel": "I am not a member: invite me with `/invite @Greenlight`",
    "channel_not_found": "the channel does not exist, or is private and I am not in it",
    "is_archived": "the channel is archived",
}


def digest_jobs(gl: Greenlight, client: WebClient, worker: str) -> list[Callable[[Store], int]]:
    """The worker's digest work, counters first so a digest shows the latest numbers."""
    return [AnalyticsJob(gl, worker), DigestJob(gl, client, worker)]


class AnalyticsJob:
    """Worker job: counts new audit entries into the day counters the digest reads."""

    def __init__(self, gl: Greenlight, worker: str) -> None:
        self.gl = gl
        self.worker = worker

    def __call__(self, store: Store, stop_requested: Callable[[], bool]) -> int:
        return analytics.ingest(store, self._categories, self.worker)

    def _categories(self, post: Post, revision: int) -> set[str]:
        return {f.category for f in self.gl.findings(post.revisions[revision - 1])}


class DigestJob:
    """Worker job: posts each configured digest that is due and not yet sent today."""

    def __init__(self, gl: Greenlight, client: WebClient, worker: str) -> None:
        self.gl = gl
        self.client = client
        self.worker = worker
        #: (workspace, digest): when this worker may resume the day's personal DMs again,
        #: after Slack failed it (not on every pass while Slack is down).
        self._resume_at: dict[tuple[str, str], datetime] = {}

    def __call__(self, store: Store, stop_requested: Callable[[], bool]) -> int:
        now = self.gl.clock()
        sent = 0
        for digest in self.gl.config.digest:
            if stop_requested():
                break
            due = due_occurrence(self.gl.config, digest, now)
            paced = now < self._resume_at.get((store.team, digest.key), now)
            resumable = due.date if due is not None and not paced else None
            unsent, unfinished = store.digest_leftovers(digest.key, resumable)
            self.report_given_up(store, digest, due, unsent)
            if due is not None and unfinished is not None:
                try:  # the channel post went out; Slack failed during the personal DMs
                    DigestSend(self.gl, self.client, store, unfinished, stop_requested).finish(
                        due, now
                    )
                except Exception:
                    log.exception("digest %s of %s: personal DMs failed", digest.key, due.date)
                    self._pace(store, digest, now)
            if due is None or not store.claim_digest(
                digest.key, due.date, self.worker, CLAIM_SECONDS
            ):
                continue  # nothing due, or already sent (or being sent) that day
            try:
                DigestSend(self.gl, self.client, store, stop_requested=stop_requested).send(
                    due, now
                )
            except Exception:  # before the channel post, the claim lapses and a later pass
                log.exception("digest %s of %s failed", digest.key, due.date)  # tries again
                self._pace(store, digest, now)  # after it, the personal DMs wait as long
                continue
            sent += 1
        return sent

    def _pace(self, store: Store, digest: Digest, now: datetime) -> None:
        self._resume_at[(store.team, digest.key)] = now + timedelta(seconds=CLAIM_SECONDS)

    def report_given_up(
        self, store: Store, digest: Digest, due: Occurrence | None, unsent: dict[str, datetime]
    ) -> None:
        """Tell the admins about each `unsent` day that is no longer due (its grace is over, or
        a later day is due): by one worker, after marking the day skipped so no worker still
        sending it can succeed unnoticed. If Slack cannot take the DM either, the day is told
        on a later pass (again to admins it reached, should there be several)."""
        for day, since in sorted(unsent.items()):
            if (due is not None and due.date == day) or not store.skip_digest(digest.key, day):
                continue  # still due, or a worker holds it (sending) or recorded it
            if not store.take_unsent_digest(digest.key, day):
                continue  # another worker reports it
            zone = self.gl.config.digest_zone(digest)
            text = (
                f"The daily digest for <#{digest.channel}> of "
                f"{date.fromisoformat(day):%A %-d %B} did not go out: Slack refused it from "
                f"{since.astimezone(zone):%-d %B %H:%M} ({zone.key}), and it could not be sent "
                f"within its grace ({_hours(digest)})."
            )
            if not tell_admins(self.client, self.gl.config.admins, text):
                store.digest_unsent(digest.key, day, since)


class DigestSend:
    """One digest going out: to its channel, then the personal DMs, then what failed to the
    admins."""

    def __init__(
        self,
        gl: Greenlight,
        client: WebClient,
        store: Store,
        problems: Sequence[str] = (),
        stop_requested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.gl = gl
        self.client = client
        self.store = store
        #: What the admins are told at the end (with what an interrupted pass had found).
        self.problems: list[str] = list(problems)
        #: Asked between two personal DMs: a worker stopping leaves the rest to a later pass.
        self.stop_requested = stop_requested

    def send(self, due: Occurrence, now: datetime) -> None:
        """Post the day's digest and record that the day is done before anything else, so a
        crash later (in the personal DMs) can never post it twice."""
        digest = due.digest
        data = build_digest(
            self.store, self.gl.config, now, self.store.last_digest(digest.key), due.at
        )
        try:
            outcome = self.post(digest.channel, data, digest_title(date.fromisoformat(due.date)))
        except Exception as exc:
            if slack_unavailable(exc):  # told to the admins if the grace runs out first
                self.store.digest_unsent(digest.key, due.date, now)
            raise
        self.store.digest_done(digest.key, due.date, outcome, now)
        self.finish(due, now)

    def finish(self, due: Occurrence, now: datetime) -> None:
        """After the channel post: the personal DMs, then what failed to the admins. Should
        Slack become unavailable meanwhile, or the worker stop, the rest waits for a later pass
        the same day (`DigestJob` resumes it; each person's DM is claimed, so nobody gets
        two)."""
        digest = due.digest
        try:
            everyone = not digest.personal or self.personal(digest, due.date, now)
        except Exception as exc:
            if slack_unavailable(exc):
                self.store.digest_unfinished(digest.key, due.date, self.problems)
            raise
        if not everyone:  # the worker stops: any worker sends the rest
            self.store.digest_unfinished(digest.key, due.date, self.problems)
            return
        if not self.tell_admins(digest):  # Slack refused the DM: a later pass tells them
            self.store.digest_unfinished(digest.key, due.date, self.problems)

    def post(self, channel: str, data: DigestData, title: str) -> str:
        blocks, text = digest_blocks(data, title), digest_fallback(data)
        try:
            self._post(channel, blocks, text)
        except SlackApiError as exc:
            if slack_unavailable(exc):  # try again later: nothing is recorded for the day
                raise
            error = str(exc.response.get("error"))
            why = CHANNEL_PROBLEMS.get(error, f"Slack said `{error}`")
            self.problems.append(f"I could not post the daily digest in <#{channel}>: {why}.")
            return f"failed {error}"
        return "sent"

    def _post(self, channel: str, blocks: list, text: str) -> None:
        try:
            self.client.chat_postMessage(channel=channel, blocks=blocks, text=text)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
            try:  # a public channel the bot can join by itself
                self.client.conversations_join(channel=channel)
            except SlackApiError as join_error:
                if slack_unavailable(join_error):
                    raise  # Slack is down: not an answer about the channel
                raise exc from None
            self.client.chat_postMessage(channel=channel, blocks=blocks, text=text)

    def personal(self, digest: Digest, day: str, now: datetime) -> bool:
        """Each approver named in the workflow file gets their own queue, once that day.
        False when the worker stopped before everyone was looked at."""
        engine = self.gl.engine(self.store.team, self.client)
        directory = self.gl.directory(self.store.team, self.client)
        people: set[str] = set()
        for workflow in self.gl.config.workflows:
            for step in workflow.steps:
                people |= set(step.approvers.users)
                for group in step.approvers.usergroups:
                    if not directory.group_exists(group):
                        self.problems.append(
                            f"The user group {mention(group)} (`{group}`, step “{step.name}” of "
                            f"workflow “{workflow.name}”) no longer exists: its members get no "
                            "personal digest and it approves nothing. Fix the workflow file."
                        )
                    people |= directory.members(group)
        for user in sorted(people):
            if self.stop_requested():
                return False
            profile = directory.user(user)
            if not profile or profile.get("deleted"):
                self.problems.append(
                    f"{mention(user)} (`{user}`) has left the workspace but is still an approver "
                    "in the workflow file: remove them, or steps may wait for nobody."
                )
                continue
            queue = engine.queue_for(user)
            if not queue or not self.store.claim_personal_digest(digest.key, day, user):
                continue
            try:
                self.client.chat_postMessage(channel=user, text=personal_digest(queue, now))
            except (SlackApiError, OSError) as exc:
                if slack_unavailable(exc):  # not sent: theirs to send when Slack is back
                    self.store.unclaim_personal_digest(digest.key, day, user)
                    raise
                error = slack_error(exc)
                self.problems.append(f"I could not DM {mention(user)} their queue: `{error}`.")
        return True

    def tell_admins(self, digest: Digest) -> bool:
        """Whether the admins were told the problems (True when there are none)."""
        if not self.problems:
            return True
        text = "\n".join(
            [f":warning: The digest for <#{digest.channel}> needs your attention:"]
            + [f"• {p}" for p in dict.fromkeys(self.problems)]
        )
        return tell_admins(self.client, self.gl.config.admins, text)


def _hours(digest: Digest) -> str:
    hours = digest.grace.total_seconds() / 3600
    return f"{hours:g} h"


def digest_title(day: date) -> str:
    return f"Greenlight digest · {day:%A %-d %B}"


def preview(gl: Greenlight, store: Store, now: datetime) -> tuple[list, str]:
    """The digest as it would be now, for `/greenlight digest`: blocks with a button per
    configured channel, and the fallback text."""
    first = gl.config.digest[0] if gl.config.digest else None
    since = store.last_digest(first.key) if first else None
    data = build_digest(store, gl.config, now, since)
    zone = gl.config.digest_zone(first) if first else None
    day = now.astimezone(zone).date() if zone else now.date()
    channels = [d.channel for d in gl.config.digest]
    blocks = digest_blocks(data, digest_title(day), post_to=channels, preview=True)
    return blocks, digest_fallback(data)
