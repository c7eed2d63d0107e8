"""Reminders and escalations, sent by workers.

Each worker pass claims the posts whose next reminder or escalation is due (the `nudges`
index; a claim is a lease, so no two workers work on one post at a time), does what is due and
re-scores the post to its next time. Escalation is an audited transition (`Escalate`); the
notifier then DMs the escalation approvers from its audit entry. A reminder is a DM with the
approval card; each person gets each reminder round at most once (`Store.claim_reminder`), and
one who is in their quiet hours gets it when those end, unless the post is urgent. So does an
escalation DM: the notifier leaves it waiting (`Store.dm_waits`) and the post due when those
end, for a worker's pass to send. A reminder, an escalation, a step's request to decide or the
author's notice as a step starts (`bot.step_start`) that Slack could not take (down, busy) is
tried again the same way a minute later. Away approvers' reminders go to their delegate. People
who cannot be reached are reported to the workflow file's admins, once a day per post and
person; the rest still get theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messaging import (
    SLACK_RETRY,
    UNAVAILABLE,
    dm_card,
    dm_once,
    people_of,
    slack_unavailable,
    tell_admins,
    zone_of,
)
from bot.runtime import Greenlight
from bot.step_start import AUTHOR_NOTICES, audience, tell_author_once
from bot.views.card import approval_card
from bot.views.messages import step_request
from bot.views.reminders import (
    Unreachable,
    escalation_blocks,
    escalation_text,
    reminder_blocks,
    reminder_text,
    unreachable_text,
)
from workflows.commands import Escalate
from workflows.engine import Engine
from workflows.models import Post, PostState
from workflows.reminders import (
    GREENLIGHT,
    QuietHours,
    escalation_due_at,
    next_nudge_at,
    reminder_round,
)
from workflows.rules import Context, decision_refusal
from workflows.store import Store

log = logging.getLogger(__name__)
#: How long a worker holds a claimed post before another may take it over.
LEASE_SECONDS = 120.0
#: Slack errors that mean the person cannot be messaged at all (retrying will not help).
UNREACHABLE = frozenset({"user_not_found", "account_inactive", "cannot_dm_bot", "user_disabled"})


def reminders_job(
    gl: Greenlight, client: WebClient, batch: int = 20
) -> Callable[[Store, Callable[[], bool]], int]:
    """The worker's job (`bot.worker.Job`): the reminders and escalations due in a workspace."""

    def reminders(store: Store, stop_requested: Callable[[], bool]) -> int:
        return Nudger(gl, gl.engine(store.team, client), client).run_due(batch, stop_requested)

    return reminders


class Nudger:
    def __init__(self, gl: Greenlight, engine: Engine, client: WebClient) -> None:
        self.gl = gl
        self.engine = engine
        self.store = engine.store
        self.client = client
        self.directory = engine.directory
        self.quiet = QuietHours.of(gl.config)

    def run_due(
        self,
        limit: int,
        stop_requested: Callable[[], bool],
        lease_seconds: float = LEASE_SECONDS,
    ) -> int:
        """Reminders and escalations of up to `limit` due posts, claimed for `lease_seconds`.
        When `stop_requested()` (asked between posts), the posts not looked at are due again
        at once, for any worker."""
        now = self.gl.clock()
        ids, lease_end = self.store.claim_nudges(now, limit, lease_seconds)
        for n, post_id in enumerate(ids):
            if stop_requested():
                for left in ids[n:]:
                    self.store.rescore_nudge(left, lease_end, now)
                return n
            try:
                following, waiting = self._nudge(post_id, now)
            except Exception:  # one broken post must not stop the others; retried after the lease
                log.exception("reminders for post #%s failed", post_id)
                continue
            if self.store.rescore_nudge(post_id, lease_end, following) and waiting:
                self._waiting_since(post_id, *waiting, now)
        return len(ids)

    def _waiting_since(
        self, post_id: str, revision: int, index: int, seen: dict[str, list[str]], now: datetime
    ) -> None:
        """A notifier (another worker's) may have left DMs waiting after `_nudge` read them
        and before the re-score, which then dropped or pushed back the time the notifier set:
        the post is due again at once, to take them into account."""
        if _pairs(self.store.waiting_dms(post_id, revision, index)) - _pairs(seen):
            self.store.nudge_by(post_id, now)

    def _nudge(
        self, post_id: str, now: datetime
    ) -> tuple[datetime | None, tuple[int, int, dict[str, list[str]]] | None]:
        """Do what is due for the post; returns when to look at it next (None: never) and,
        while it is in review, the revision, step and waiting DMs that it saw."""
        post = self.store.get(post_id)
        if post is None or post.state != PostState.IN_REVIEW or post.current_step is None:
            return None, None
        index = post.current_step
        due = escalation_due_at(post.steps[index])
        if due and due <= now:
            self.engine.execute(Escalate(GREENLIGHT, post.id, post.revision.number, index))
            post = self.store.get(post_id)  # escalated, or decided meanwhile
            if post is None or post.state != PostState.IN_REVIEW or post.current_step != index:
                return None, None  # the transition that moved it on set its next nudge
        run = post.steps[index]
        deferred: list[datetime] = []
        asked: set[str] = set()
        waiting = self.store.waiting_dms(post.id, post.revision.number, index)
        if waiting.get("request"):  # Slack could not take them when the step started
            asked = self._request_again(post, index, waiting["request"], now, deferred)
        if waiting.get("escalation"):  # someone's quiet hours, or Slack
            deferred += self._escalate(post, index, waiting["escalation"], now, [])
        if notices := [kind for kind in AUTHOR_NOTICES if waiting.get(kind)]:
            deferred += self._tell_author_again(post, notices, now)
        if round_ := reminder_round(run, now):
            deferred += self._remind(post, index, round_, now, asked)
        times = [t for t in (next_nudge_at(run, now), *deferred) if t]
        return (min(times) if times else None), (post.revision.number, index, waiting)

    def _request_again(
        self, post: Post, index: int, people: list[str], now: datetime, deferred: list[datetime]
    ) -> set[str]:
        """The step's request to decide, to approvers Slack could not take it for when the
        step started (`Notifier`), once each; returns who got it now, and adds to `deferred`
        when to try again those it still could not take."""
        context = Context(self.gl.config, self.directory, self.gl.assess_risk, now)
        blocks = approval_card(post, self.gl.findings(post.revision))
        message, clock = (step_request(post), blocks), self.gl.clock
        asked: set[str] = set()
        for person in people:
            if decision_refusal(post, person, index, context) is not None:
                continue  # decided meanwhile, say
            error, retry = dm_once(self.client, self.store, post, person, "request", message, clock)
            if retry:
                deferred.append(retry)
            elif error is None:
                asked.add(person)
        return asked

    def _tell_author_again(self, post: Post, kinds: list[str], now: datetime) -> list[datetime]:
        """The author's notices of the step that Slack could not take when it started
        (`bot.step_start`); returns when to try again those it still could not take."""
        try:
            who = audience(self.gl, self.directory, post)
        except (SlackApiError, OSError) as exc:
            if not slack_unavailable(exc):
                raise
            return [now + SLACK_RETRY]  # who is in the step's groups: Slack is still down
        retries = [
            tell_author_once(self.gl, self.client, self.store, post, kind, who, waiting=True)
            for kind in kinds
        ]
        return [retry for retry in retries if retry]

    # -- reminders ----------------------------------------------------------------------------

    def _remind(
        self, post: Post, index: int, round_: int, now: datetime, asked: set[str]
    ) -> list[datetime]:
        """Send round `round_` to whoever has not got it; returns when deferred ones are due.
        For those `asked` to decide a moment ago (Slack was down for their request until now)
        that request stands for the round: no second DM on its heels."""
        problems: list[Unreachable] = []
        away = self.store.away(now)
        recipients: dict[str, str | None] = {}  # person -> the away approver they stand in for
        for person in self._undecided(post, index, now, problems):
            state = away.get(person)
            if state is None:
                recipients[person] = None
            elif state.get("delegate") and state["delegate"] != post.author:
                recipients.setdefault(str(state["delegate"]), person)
        deferred: list[datetime] = []
        run = post.steps[index]
        waited = now - (run.started_at or post.updated_at)
        revision = post.revision.number
        for person, principal in recipients.items():
            if person in asked:  # in their quiet hours too: it went out, it stands for the round
                self.store.claim_reminder(post.id, revision, index, person, round_)
                continue
            zone = self._reachable_zone(person, problems)
            if zone is None:
                continue
            ends = None if post.revision.urgent else self.quiet.ends(now, zone)
            if ends:
                deferred.append(ends)
                continue
            if not self.store.claim_reminder(post.id, revision, index, person, round_):
                continue
            error = dm_card(
                self.client,
                self.store,
                person,
                reminder_text(post, index, waited, principal),
                reminder_blocks(post, index, waited, principal, self.gl.findings(post.revision)),
                post,
            )
            if error == UNAVAILABLE:  # not sent: theirs again once Slack is back
                retry = self.gl.clock() + SLACK_RETRY  # a minute after the failure
                self.store.unclaim_reminder(post.id, revision, index, person, round_, retry)
                deferred.append(retry)
            elif error in UNREACHABLE:
                problems.append(Unreachable(person, error))
        self._report(post, index, "reminder", problems)
        return deferred

    def _undecided(
        self, post: Post, index: int, now: datetime, problems: list[Unreachable]
    ) -> list[str]:
        """The step's approvers who could decide it and have not (authors, people who voted or
        approved an earlier step are left out, by the same rules as a click)."""
        run = post.steps[index]
        deleted: list[str] = []
        people = people_of(self.directory, run.users, run.usergroups, deleted)
        problems += [Unreachable(group, "deleted_group") for group in deleted]
        context = Context(self.gl.config, self.directory, self.gl.assess_risk, now)
        return [p for p in people if decision_refusal(post, p, index, context) is None]

    def _reachable_zone(self, person: str, problems: list[Unreachable]) -> ZoneInfo | None:
        """The person's time zone (Slack's `users.info`, else the file's), or None when they
        cannot be messaged (recorded in `problems`)."""
        profile = self.directory.user(person)
        if profile is None:
            problems.append(Unreachable(person, "unknown"))
            return None
        if profile.get("deleted"):
            problems.append(Unreachable(person, "left"))
            return None
        return zone_of(profile, self.gl.config.timezone)

    # -- escalations (from the notifier, after the audited transition) ------------------------

    def escalated(self, post: Post, index: int) -> None:
        """DM the escalation approvers who may now decide the step; those in their quiet hours
        are left waiting, the post due by when theirs end."""
        run = post.steps[index]
        if post.state != PostState.IN_REVIEW or post.current_step != index or not run.nudges:
            return
        deleted: list[str] = []
        nudges = run.nudges
        people = people_of(
            self.directory, nudges.escalate_users, nudges.escalate_usergroups, deleted
        )
        problems = [Unreachable(group, "deleted_group") for group in deleted]
        self._escalate(post, index, people, self.gl.clock(), problems)

    def _escalate(
        self,
        post: Post,
        index: int,
        people: list[str],
        now: datetime,
        problems: list[Unreachable],
    ) -> list[datetime]:
        """DM the escalation to each of `people` who may decide the step, once each (claimed:
        the notifier may tell the same entry again), unless they are in their quiet hours and
        the post is not urgent: theirs waits, and the post is due by when their quiet hours
        end (marked at once, so a failure later in the loop strands nobody). Returns those
        times."""
        context = Context(self.gl.config, self.directory, self.gl.assess_risk, now)
        blocks = escalation_blocks(post, index, self.gl.findings(post.revision))
        message, clock = (escalation_text(post, index), blocks), self.gl.clock
        deferred: list[datetime] = []
        for person in people:
            if decision_refusal(post, person, index, context) is not None:
                continue  # the author, say, or someone who already decided
            zone = self._reachable_zone(person, problems)
            if zone is None:
                continue
            ends = None if post.revision.urgent else self.quiet.ends(now, zone)
            if ends:
                self.store.dm_waits(
                    post.id, post.revision.number, index, person, "escalation", ends
                )
                deferred.append(ends)
                continue
            error, retry = dm_once(
                self.client, self.store, post, person, "escalation", message, clock
            )
            if retry:  # not sent: waits again, for Slack this time
                deferred.append(retry)
            elif error in UNREACHABLE:
                problems.append(Unreachable(person, error))
        self._report(post, index, "escalation", problems)
        return deferred

    # -- Slack --------------------------------------------------------------------------------

    def _report(self, post: Post, index: int, what: str, problems: list[Unreachable]) -> None:
        """Tell the admins who could not be reached: once a day per post, person and kind."""
        fresh = [p for p in problems if self.store.report_once(f"{post.id}:{index}:{what}:{p.who}")]
        if not fresh:
            return
        tell_admins(self.client, self.gl.config.admins, unreachable_text(post, index, what, fresh))


def _pairs(waiting: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {(kind, user) for kind, users in waiting.items() for user in users}
