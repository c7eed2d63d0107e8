"""The approval engine: read a post, apply the rules, commit atomically; retry on a race.

A command costs two Redis round trips when nobody else is changing the same post: one read
(`HMGET`) and one script that checks the version, writes, indexes and audits. When two people
act at once, one commit wins; the other reads again and is re-judged against the new state
(which is how the second click on a 1-of-N step learns the step is already decided).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import redis

from workflows.commands import Command, PostCommand, Submit
from workflows.config import WorkflowFile
from workflows.directory import Directory
from workflows.models import Post, PostState
from workflows.outcomes import Accepted, Outcome, Refusal, RefusalCode
from workflows.rules import Context, RiskAssessor, apply, decision_refusal, submit
from workflows.store import Committed, Conflict, Duplicate, Store, delegating_to

#: Enough for every contender in a burst of clicks to be re-judged; a loop beyond it is a bug.
MAX_ATTEMPTS = 1000


class ContentionError(RuntimeError):
    """A post kept changing under the engine for MAX_ATTEMPTS reads in a row."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Engine:
    """Runs commands for one workspace."""

    def __init__(
        self,
        client: redis.Redis,
        team: str,
        config: WorkflowFile,
        directory: Directory,
        assess_risk: RiskAssessor,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.directory = directory
        self.assess_risk = assess_risk
        self.clock = clock
        self.store = Store(client, team, retention_days=config.retention_days)

    def execute(self, command: Command) -> Outcome:
        if isinstance(command, Submit):
            return self._submit(command)
        return self._change(command)

    def context(self, away: Mapping[str, Mapping[str, str | None]] | None = None) -> Context:
        """The rules' view of now. Who is away is read at most once per delegate asked about,
        however many posts are judged with it (a queue), or taken from `away` (as `Store.away`
        answers) when the caller has it already."""
        now = self.clock()
        absent: dict[str, tuple[str, ...]] = {}

        def away_for(delegate: str) -> tuple[str, ...]:
            if delegate not in absent:
                absent[delegate] = (
                    self.store.absent_for(delegate, now)
                    if away is None
                    else delegating_to(away, delegate)
                )
            return absent[delegate]

        return Context(self.config, self.directory, self.assess_risk, now, away_for=away_for)

    def _submit(self, command: Submit) -> Outcome:
        result = submit(command, self.store.next_id(), self.store.team, self.context())
        if isinstance(result, Refusal):
            return result
        written = self.store.commit(None, result.post, result.events[0], command.source_key)
        if isinstance(written, Duplicate):
            existing = self.store.get(written.post_id)
            if existing is None:
                return Refusal(RefusalCode.NOT_FOUND, "The draft was created and has expired.")
            return Accepted(existing, replayed=True)
        if isinstance(written, Conflict):  # ids come from INCR, so this means a broken counter
            raise ContentionError(f"post id {result.post.id} is already taken")
        return result

    def _change(self, command: PostCommand) -> Outcome:
        for _ in range(MAX_ATTEMPTS):
            post = self.store.get(command.post_id)
            if post is None:
                return Refusal(
                    RefusalCode.NOT_FOUND, f"There is no post {command.post_id} in this workspace."
                )
            result = apply(post, command, self.context())
            if isinstance(result, Refusal):
                return result
            if isinstance(self.store.commit(post, result.post, result.events[0]), Committed):
                return result
        raise ContentionError(f"post {command.post_id} changed {MAX_ATTEMPTS} times in a row")

    # -- queries -----------------------------------------------------------------------------

    def post(self, post_id: str) -> Post | None:
        return self.store.get(post_id)

    def queue_for(self, user: str, limit: int = 50) -> list[Post]:
        """Posts waiting for `user`'s decision now, oldest wait first: as an approver, as an
        escalation approver of an escalated step, or as the delegate of someone away."""
        ctx = self.context()
        ids = self.store.ids_waiting_for(self.approver_ids(user, ctx), limit)
        return [p for p in self.store.get_many(ids) if self.waits_for(p, user, ctx)]

    def approver_ids(self, user: str, ctx: Context | None = None) -> list[str]:
        """`user`, the approvers away who named them their delegate, and the workflow file's
        user groups (approvers or escalation approvers) any of them belongs to: whose waiting
        posts are theirs to decide (`Store.ids_waiting_for`)."""
        people = {user, *(ctx or self.context()).away_for(user)}
        named = {
            g
            for w in self.config.workflows
            for s in w.steps
            for g in (*s.approvers.usergroups, *(s.escalate_to.usergroups if s.escalate_to else ()))
        }
        groups = {g for g in named if people & self.directory.members(g)}
        return [*sorted(people), *sorted(groups)]

    def waits_for(self, post: Post, user: str, ctx: Context | None = None) -> bool:
        """Does `post` wait for `user`'s decision now? (The queue's judgement of one post.)"""
        index = post.current_step
        if post.state != PostState.IN_REVIEW or index is None:
            return False
        return decision_refusal(post, user, index, ctx or self.context()) is None

    def judge(self, command: PostCommand) -> Refusal | None:
        """Would `command` be refused now? Nothing is written. Lets the chat side say no before
        it opens a form, instead of after the person filled it in."""
        post = self.store.get(command.post_id)
        if post is None:
            return Refusal(
                RefusalCode.NOT_FOUND, f"There is no post {command.post_id} in this workspace."
            )
        result = apply(post, command, self.context())
        return result if isinstance(result, Refusal) else None
