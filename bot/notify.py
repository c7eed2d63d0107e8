"""Telling people what happened, after the engine has committed: cards in channels and DMs
(updated in place after every transition), requests to approvers, notices to the author.

The engine's state never depends on these calls: a Slack failure here is retried by the client
(429 and 5xx), and what still fails is reported to the author instead of being lost silently.
When Slack is down (unreachable, or 5xx past those retries) before an entry posted anything,
the entry and the rest of the batch are handed back to the worker, which tries them again
later; once a card is posted, what fails is logged, so a retry never posts a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messaging import (
    UNAVAILABLE,
    SlackUnavailable,
    dm_once,
    slack_error,
    slack_unavailable,
    tell_author,
)
from bot.reminders import Nudger
from bot.runtime import Greenlight
from bot.step_start import STEP_STARTED, SUBMITTED, audience, tell_author_once
from bot.views.card import approval_card, card_fallback
from bot.views.messages import author_notice, step_request, submitted_notice
from workflows.engine import Engine
from workflows.models import Post, PostState, StepStatus

log = logging.getLogger(__name__)
#: Audit actions that only change what a card shows: nobody else needs telling.
_REFRESH_ONLY = frozenset({"publish_started", "published", "publish_retry", "reschedule"})


class Notifier:
    def __init__(self, gl: Greenlight, engine: Engine, client: WebClient) -> None:
        self.gl = gl
        self.engine = engine
        self.store = engine.store
        self.client = client
        self.directory = engine.directory

    # -- after a transition (one audit entry each) ------------------------------------------

    def handle(
        self, entries: list[dict[str, str]], stop_requested: Callable[[], bool]
    ) -> list[str]:
        """Tell people about committed transitions, read from the audit log; each post's cards
        are refreshed once per batch, whatever the number of its entries. Returns the ids of
        the entries not told: Slack is down, or `stop_requested()` said the worker stops,
        which it asks between entries (the worker leaves them to be tried again, by any
        worker; the cards not refreshed are marked stale for it)."""
        shown = self.store.shown(
            list({e["post"] for e in entries if e.get("post") and e["action"] in _REFRESH_ONLY})
        )
        wanted = [
            e
            for e in entries
            if e.get("post") and (e["action"] not in _REFRESH_ONLY or e["post"] in shown)
        ]  # not workspace-level (freeze), nor only a card nobody shows to refresh
        posts = {p.id: p for p in self.store.get_many(list({e["post"] for e in wanted}))}
        touched: dict[str, Post] = {}
        left: list[str] = []
        for entry in wanted:
            post = posts.get(entry["post"])
            if post is None:
                continue  # expired
            if left or stop_requested():  # the rest waits too, without calling Slack now
                left.append(entry["id"])
                continue
            touched[post.id] = post
            if not self._told(post, entry):
                left.append(entry["id"])
        if left:  # the cards of what was told are refreshed with the batch that tells the rest
            log.warning("%d entries left for later; cards of %s too", len(left), list(touched))
            self.store.cards_to_refresh(list(touched))
            return left
        stale = [i for i in self.store.stale_cards() if i not in touched]
        touched |= {post.id: post for post in self.store.get_many(stale)}
        freeze = self.store.freeze_state() if touched else None
        missed = [
            post.id
            for post in touched.values()
            if stop_requested() or not self._refreshed(post, freeze)
        ]
        self.store.cards_to_refresh(missed)
        self.store.cards_refreshed([i for i in stale if i not in missed])
        return []

    def _refreshed(self, post: Post, freeze: dict[str, str] | None) -> bool:
        """`refresh`, with a failure other than Slack's or Redis's (a card that cannot be
        rendered: a bug) logged and given up, not failing the batch (which would be told
        again)."""
        try:
            return self.refresh(post, freeze)
        except redis.RedisError:
            raise
        except Exception:
            log.exception("could not refresh the cards of #%s; given up", post.id)
            return True

    def _told(self, post: Post, entry: dict[str, str]) -> bool:
        """Announce the entry; False when Slack was down before anything was posted (worth
        trying again). Any other failure is logged as an error, the author is told, and it is
        not retried: trying again would fail the same way, or post twice what went out before
        it. Redis failing stops the pass."""
        what = entry["action"]
        try:
            self._announce(post, entry)
        except redis.RedisError:
            raise
        except Exception as exc:
            if slack_unavailable(exc):
                log.warning("Slack is down; telling %s of #%s again later: %s", what, post.id, exc)
                return False
            log.exception("could not tell people about %s of #%s; given up", what, post.id)
            why = slack_error(exc)
            self._tell_author(
                post,
                f":warning: Greenlight could not tell the approvers about draft #{post.id} "
                f"({why}). It still waits in their `/greenlight queue`; ask an admin to check "
                "the app's scopes and logs.",
            )
        return True

    def _announce(self, post: Post, entry: dict[str, str]) -> None:
        action, actor = entry["action"], entry["actor"]
        current = int(entry["revision"]) == post.revision.number
        if action in ("submit", "revise") and current:
            if self._started_now(post, after=-1):
                self._start_step(post, submitted=True)
            elif entry["to"] != "in_review":
                self._tell_author(
                    post,
                    submitted_notice(post, self.gl.findings(post.revision), None),
                    must_arrive=True,
                )
        elif action in ("approve", "override") and current:
            if entry["to"] == "in_review" and self._started_now(post, int(entry["step"])):
                self._start_step(post)
            elif entry["to"] != "in_review" and actor != post.author:
                self._tell_author(
                    post,
                    f":white_check_mark: Draft #{post.id} is approved.",
                    must_arrive=True,
                )
        elif action in ("reject", "request_changes") and actor != post.author:
            blocks = author_notice(post, actor, action, entry.get("reason", ""))
            self._dm(post.author, f"Draft #{post.id}", blocks, must_arrive=True)
        elif action == "escalate" and current:
            Nudger(self.gl, self.engine, self.client).escalated(post, int(entry["step"]))
        elif action in (
            "publish_failed",
            "publish_interrupted",
            "publish_unknown",
            "hold",
        ) and post.state in (
            PostState.FAILED,
            PostState.OUTCOME_UNKNOWN,
            PostState.HELD,
        ):
            self.needs_a_human(post, entry.get("reason"), entry.get("target"))

    @staticmethod
    def _started_now(post: Post, after: int) -> bool:
        """Is the post's active step the one that started right after step `after`? (Not when
        later decisions already moved it on: their own entries start the later step.)"""
        following = next(
            (i for i, s in enumerate(post.steps) if i > after and s.status != StepStatus.SKIPPED),
            None,
        )
        return post.state == PostState.IN_REVIEW and following == post.current_step

    def needs_a_human(self, post: Post, reason: str | None, target: str | None) -> None:
        """Publishing stopped where only a person can decide: say so to the author (told
        again later should Slack be down)."""
        what = {
            PostState.FAILED: ":warning: could not be published",
            PostState.OUTCOME_UNKNOWN: ":grey_question: may or may not have gone out",
            PostState.HELD: ":double_vertical_bar: is held",
        }[post.state]
        detail = reason or post.closing_reason or ""
        where = f" to {target}" if target else ""
        self._tell_author(
            post,
            f"Draft #{post.id}{where} {what}: {detail}. The card has the buttons to publish, "
            "retry or cancel.",
            must_arrive=True,
        )

    def refresh(self, post: Post, freeze: dict[str, str] | None) -> bool:
        """Update every message showing the post: cards lose their buttons when it is decided.
        (`freeze`: the publishing freeze the cards show.) False when Slack was down for one of
        them: worth trying again."""
        messages = self.store.messages(post.id)
        if not messages:
            return True  # nothing shows it (e.g. created by an integration): nothing to render
        blocks = approval_card(post, self.gl.findings(post.revision), freeze)
        refreshed = True
        for channel, ts in messages:
            try:
                self.client.chat_update(
                    channel=channel, ts=ts, text=card_fallback(post), blocks=blocks
                )
            except (SlackApiError, OSError) as exc:
                log.warning("could not update card %s/%s of #%s: %s", channel, ts, post.id, exc)
                refreshed = refreshed and not slack_unavailable(exc)
        return refreshed

    # -- steps --------------------------------------------------------------------------------

    def _start_step(self, post: Post, submitted: bool = False) -> None:
        """Post the card where the active step says; then tell the author what they need to
        know (where the draft waits, when it was just `submitted` or revised; who does not get
        the card); then DM the approvers their request to decide. The author's notice and each
        DM go out once (claimed: an entry told again does not send them twice); one Slack could
        not take waits for a worker's reminders pass a minute later (`Nudger`): telling the
        entry again would post a second card."""
        index = post.current_step
        if post.state != PostState.IN_REVIEW or index is None:
            return
        run = post.steps[index]
        # Who to tell comes first: should Slack fail these lookups, nothing was posted yet, and
        # the entry is told again later without a second card.
        who = audience(self.gl, self.directory, post)
        channel = run.channel or self.gl.config.approvals_channel
        posted = self._post_card(post, channel) if channel else None
        kind = SUBMITTED if submitted else STEP_STARTED
        tell_author_once(self.gl, self.client, self.store, post, kind, who, posted)
        request = (step_request(post), approval_card(post, self.gl.findings(post.revision)))
        for person in who.dm:
            dm_once(self.client, self.store, post, person, "request", request, self.gl.clock)

    def _post_card(self, post: Post, channel: str) -> tuple[str, str] | None:
        blocks = approval_card(post, self.gl.findings(post.revision))
        for attempt in (1, 2):
            try:
                reply = self.client.chat_postMessage(
                    channel=channel, text=card_fallback(post), blocks=blocks
                )
                self.store.remember_message(post.id, reply["channel"], reply["ts"])
                return reply["channel"], reply["ts"]
            except SlackApiError as exc:
                if slack_unavailable(exc):
                    raise  # nothing was posted: the entry is told again later
                error = exc.response.get("error")
                if error == "not_in_channel" and attempt == 1 and self._join(channel):
                    continue
                self._tell_author(
                    post,
                    f":warning: Greenlight could not post the card of draft #{post.id} in "
                    f"<#{channel}> ({error}). Invite the app there (`/invite @Greenlight`) or fix "
                    "the channel in the workflow file; approvers still get it by DM.",
                )
                return None
        return None

    def _join(self, channel: str) -> bool:
        try:
            self.client.conversations_join(channel=channel)
            return True
        except (SlackApiError, OSError):
            return False

    # -- direct messages ----------------------------------------------------------------------

    def _dm(
        self, user: str, text: str, blocks: list | None = None, must_arrive: bool = False
    ) -> None:
        """A DM; one that fails is logged, unless `must_arrive` and Slack is down: then the
        error is raised, and the entry being told is told again later (so only for a notice
        that is all its entry tells, or the rest would go out twice)."""
        try:
            self.client.chat_postMessage(channel=user, text=text, blocks=blocks)
        except (SlackApiError, OSError) as exc:
            if must_arrive and slack_unavailable(exc):
                raise
            log.warning("could not DM %s: %s", user, exc)

    def _tell_author(self, post: Post, text: str, must_arrive: bool = False) -> None:
        """`tell_author`; one that fails is logged, unless `must_arrive` and Slack is down:
        then the entry being told is told again later (as `_dm`)."""
        if tell_author(self.client, post, text) == UNAVAILABLE and must_arrive:
            raise SlackUnavailable(f"the notice to {post.author} about #{post.id}")
