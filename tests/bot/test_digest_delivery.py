"""Digests reaching Slack: the worker jobs against the Slack emulator over real HTTP, real
Redis, the real WebClient; only the clock is moved (across Rome's change to summer time)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import load_greenlight, slack_client
from bot.digest import DigestJob, DigestSend, digest_jobs
from bot.runtime import Greenlight
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.workspace import Workspace
from bot.settings import load_settings
from tests.bot.conftest import rendered
from tests.conftest import Clock
from workflows.commands import Submit
from workflows.digest import due_occurrence
from workflows.store import Store

WORKFLOW = """
timezone: Europe/Rome
admins: [U0ADMIN]
approvals_channel: C0APPROVALS
targets:
  site: {type: slack, channel: C0SITE}
workflows:
  - name: standard
    targets: [site]
    steps:
      - name: Copy review
        approvers: {users: [U0ANNA, U0GONE], usergroups: [S0EDITORS, S0OLD]}
digest:
  - {channel: C0SOCIAL, at: "09:00", personal: true}
  - {channel: C0SECRET, at: "09:00"}
"""


def not_stopping() -> bool:
    """A worker's stop check while nobody stops it."""
    return False


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    workspace = Workspace()
    workspace.add_team("T0DIGEST" + uuid.uuid4().hex[:6].upper())
    emulator = SlackEmulator(workspace).start()
    for user in ("U0AUTHOR", "U0ANNA", "U0ED1", "U0ADMIN"):
        emulator.add_user(user, tz="Europe/Rome", tz_offset=3600)
    emulator.add_user("U0GONE", deleted=True)
    emulator.add_usergroup("S0EDITORS", ["U0ED1"])
    emulator.add_channel("C0SOCIAL", "social", members=["U0ANNA"])
    emulator.add_channel("C0APPROVALS", "approvals")
    emulator.add_channel("C0SECRET", "secret", is_private=True, bot_member=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def gl(slack: SlackEmulator, redis_url: str, tmp_path: Path, clock: Clock) -> Iterator[Greenlight]:
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(WORKFLOW)
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": "digest-secret",
            "SLACK_API_URL": slack.api_url,
            "REDIS_URL": redis_url,
            "GREENLIGHT_CONFIG": str(workflow),
        },
        require_config=True,
        require_slack=True,
        dotenv=False,
    )
    greenlight = load_greenlight(settings)
    greenlight.clock = clock
    yield greenlight
    team = slack.team.id
    for key in greenlight.redis.scan_iter(match=f"gl:{{{team}}}:*", count=1000):
        greenlight.redis.delete(key)
    greenlight.redis.close()


@pytest.fixture
def store(gl: Greenlight, slack: SlackEmulator) -> Store:
    return gl.store(slack.team.id)


def digests(slack: SlackEmulator, channel: str = "C0SOCIAL") -> list[str]:
    return [rendered(m) for m in slack.messages(channel) if "Greenlight digest" in rendered(m)]


def run_workers(gl: Greenlight, store: Store, workers: int = 3) -> None:
    """One pass of `workers` worker processes' digest jobs, at the same moment."""
    jobs = [digest_jobs(gl, slack_client(gl.settings), f"worker-{n}") for n in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        passes = [
            pool.submit(lambda js=js: [job(store, not_stopping) for job in js]) for js in jobs
        ]
        for one_pass in passes:
            one_pass.result()  # a worker that failed fails the test


def test_the_digest_goes_out_at_nine_rome_time_once_a_day_whatever_the_workers(
    gl, store, slack, clock
):
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 28, 7, 59, tzinfo=UTC)  # 08:59 in Rome (CET)
    post = engine.execute(Submit("U0AUTHOR", "Spring sale starts Monday")).post
    run_workers(gl, store)
    assert digests(slack) == []
    clock.now = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    run_workers(gl, store)
    run_workers(gl, store)
    (first,) = digests(slack)
    assert "Greenlight digest · Saturday 28 March" in first
    assert f"*#{post.id}*" in first and "Copy review" in first and "Waiting for approval" in first
    assert "Late" not in first

    run_workers(gl, store, workers=1)  # a restarted worker does not send it again
    clock.now = datetime(2026, 3, 29, 6, 59, tzinfo=UTC)  # 08:59 in Rome, now CEST
    run_workers(gl, store)
    assert len(digests(slack)) == 1
    clock.now = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    run_workers(gl, store)
    assert len(digests(slack)) == 2 and "Sunday 29 March" in digests(slack)[1]


def test_a_digest_missed_while_no_worker_ran_goes_out_late_within_its_grace(
    gl, store, slack, clock
):
    clock.now = datetime(2026, 3, 30, 9, 30, tzinfo=UTC)  # 11:30 in Rome: 2 h 30 late
    run_workers(gl, store)
    (late,) = digests(slack)
    assert "Late: this digest was due" in late
    clock.now = datetime(2026, 3, 31, 13, 1, tzinfo=UTC)  # 15:01: past the 6 h grace
    run_workers(gl, store)
    assert len(digests(slack)) == 1


def test_what_cannot_be_delivered_is_told_to_admins_and_the_rest_goes_out(gl, store, slack, clock):
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    post = engine.execute(Submit("U0AUTHOR", "Waiting for Anna")).post
    run_workers(gl, store)
    assert len(digests(slack)) == 1  # C0SOCIAL got it; C0SECRET is private without the bot
    assert digests(slack, "C0SECRET") == []
    anna = [rendered(m) for m in slack.messages("U0ANNA")]
    assert any(f"*#{post.id}*" in text and "wait for your decision" in text for text in anna)
    assert any(f"*#{post.id}*" in rendered(m) for m in slack.messages("U0ED1"))
    told = "\n".join(rendered(m) for m in slack.messages("U0ADMIN"))
    assert "<#C0SECRET>" in told and "invite me with `/invite @Greenlight`" in told
    assert "U0GONE" in told and "has left the workspace" in told
    assert "S0OLD" in told and "no longer exists" in told
    run_workers(gl, store)  # the problems are not repeated on every pass
    assert len(slack.messages("U0ADMIN")) == 2  # one per digest that had problems


def test_a_digest_slack_could_not_take_goes_out_on_a_later_pass(gl, store, slack, clock):
    """Slack answering 503 (past the client's own retries) says nothing about the channel: the
    day is not marked as sent or failed, and the digest goes out once Slack is back."""
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    slack.server_error("chat.postMessage", times=3, status=503)  # the first send and 2 retries
    run_workers(gl, store, workers=1)
    assert digests(slack) == []
    told = "\n".join(rendered(m) for m in slack.messages("U0ADMIN"))
    assert "<#C0SECRET>" in told and "<#C0SOCIAL>" not in told  # not a problem to fix
    clock.advance(minutes=5)
    run_workers(gl, store, workers=1)  # the claim has not lapsed yet: nobody sends
    assert digests(slack) == []
    claim = store.keys.digest("C0SOCIAL-0900", "2026-03-30")
    store.redis.pexpire(claim, 1)  # the claim's lease (real time, in Redis) runs out
    time.sleep(0.01)
    clock.advance(minutes=20)  # Slack came back after a while
    run_workers(gl, store, workers=1)
    (sent,) = digests(slack)
    assert "Monday 30 March" in sent and "could not go out then" in sent
    run_workers(gl, store)
    assert len(digests(slack)) == 1


def test_a_busy_day_stays_inside_slack_limits(gl, store, slack, clock):
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 5, 30, tzinfo=UTC)
    for n in range(150):
        clock.advance(seconds=30)
        engine.execute(Submit("U0AUTHOR", f"Draft {n} " + "long words " * 40))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    DigestJob(gl, slack_client(gl.settings), "worker")(store, not_stopping)
    (message,) = [m for m in slack.messages("C0SOCIAL") if "Greenlight digest" in rendered(m)]
    assert len(message.blocks) <= 50
    texts = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts)
    waiting = next(t for t in texts if t.startswith("*Waiting for approval* (150)"))
    assert "…and 140 more: `/greenlight queue`" in waiting


def test_numbers_reach_the_digest(gl, store, slack, clock):
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    engine.execute(Submit("U0AUTHOR", "Our tea is guaranteed to cure your cold"))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    run_workers(gl, store, workers=1)
    (text,) = digests(slack)
    assert "The last 7 days" in text and "1 draft(s) in" in text
    assert "Most frequent risk warnings: legal or medical claim ×1" in text


def test_a_digest_slack_refused_until_its_grace_was_over_is_told_to_admins_once(
    gl, store, slack, clock
):
    """Slack down from 09:00 to past the 6 h grace: the day is skipped, as a digest about
    yesterday is noise, but the admins learn that it did not go out, once Slack takes the DM,
    from one of the workers."""
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 in Rome
    slack.server_error("chat.postMessage", times=None, status=503)
    claims = [store.keys.digest(f"{c}-0900", "2026-03-30") for c in ("C0SOCIAL", "C0SECRET")]
    for _ in range(3):  # a pass, then the claims' leases run out, then another pass
        run_workers(gl, store, workers=1)
        for claim in claims:
            store.redis.pexpire(claim, 1)
        time.sleep(0.01)
        clock.advance(hours=2)
    clock.advance(minutes=1)  # 15:01 in Rome: the 6 h grace is over
    run_workers(gl, store, workers=1)  # Slack still down: the admins' DM cannot go either
    slack.clear_faults()
    assert digests(slack) == [] and slack.messages("U0ADMIN") == []
    run_workers(gl, store)
    run_workers(gl, store)
    assert digests(slack) == []  # not sent late: the grace is over
    told = [rendered(m) for m in slack.messages("U0ADMIN") if "did not go out" in rendered(m)]
    assert len(told) == 2  # one per digest: Slack refused both channels' posts
    assert any(
        "The daily digest for <#C0SOCIAL> of Monday 30 March did not go out: Slack refused it"
        " from 30 March 09:00 (Europe/Rome), and it could not be sent within its grace (6 h)."
        in text
        for text in told
    )
    assert any("<#C0SECRET>" in text for text in told)


def test_a_day_slack_refused_then_took_is_not_reported(gl, store, slack, clock):
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    slack.server_error("chat.postMessage", times=3, status=503)
    run_workers(gl, store, workers=1)
    store.redis.pexpire(store.keys.digest("C0SOCIAL-0900", "2026-03-30"), 1)
    time.sleep(0.01)
    clock.advance(minutes=30)
    run_workers(gl, store, workers=1)
    assert len(digests(slack)) == 1
    clock.advance(hours=8)
    run_workers(gl, store)
    assert not any("did not go out" in rendered(m) for m in slack.messages("U0ADMIN"))


def test_a_digest_posted_before_slack_went_down_is_not_reported(gl, store, slack, clock):
    """Slack unreachable for the personal DMs' lookups after the channel post went out: the
    day was sent, so nothing is reported once the grace is over."""
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    engine.execute(Submit("U0AUTHOR", "Waiting for Anna"))
    slack.server_error("users.info", times=None, status=503)
    run_workers(gl, store, workers=1)
    assert len(digests(slack)) == 1
    slack.clear_faults()
    clock.advance(hours=8)
    run_workers(gl, store)
    assert not any("did not go out" in rendered(m) for m in slack.messages("U0ADMIN"))


def test_a_day_a_worker_is_still_sending_when_its_grace_ends_is_not_reported(
    gl, store, slack, clock
):
    """Another worker's pass after the grace sees the day unsent from an earlier refusal, but
    a worker holds its claim: it leaves the day alone, and that worker's send counts."""
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    slack.server_error("chat.postMessage", times=3, status=503)
    run_workers(gl, store, workers=1)  # refused: the day is unsent, the claim lapses later
    claim = store.keys.digest("C0SOCIAL-0900", "2026-03-30")
    store.redis.set(claim, "sending worker-late", px=60_000)  # a worker sending right now
    clock.advance(hours=6, minutes=1)
    run_workers(gl, store)
    assert not any("C0SOCIAL" in rendered(m) for m in slack.messages("U0ADMIN"))
    store.digest_done("C0SOCIAL-0900", "2026-03-30", "sent", clock.now)  # its send went out
    run_workers(gl, store)
    assert not any("<#C0SOCIAL> of" in rendered(m) for m in slack.messages("U0ADMIN"))


def test_personal_digests_slack_failed_during_go_out_on_a_later_pass_once(gl, store, slack, clock):
    """The channel post went out, then Slack failed (503 past the client's retries) while the
    approvers' DMs were being sent: the rest go out on a later pass, nobody gets two, and the
    admins hear about the day's problems once."""
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    post = engine.execute(Submit("U0AUTHOR", "Waiting for Anna")).post
    slack.server_error("users.info", times=None, status=503)
    run_workers(gl, store, workers=1)
    assert len(digests(slack)) == 1
    assert slack.messages("U0ANNA") == [] and slack.messages("U0ED1") == []
    slack.clear_faults()
    clock.advance(minutes=2)
    run_workers(gl, store)
    run_workers(gl, store)
    for approver in ("U0ANNA", "U0ED1"):
        queues = [m for m in slack.messages(approver) if f"*#{post.id}*" in rendered(m)]
        assert len(queues) == 1, approver
    told = [rendered(m) for m in slack.messages("U0ADMIN") if "needs your attention" in rendered(m)]
    assert len([t for t in told if "<#C0SOCIAL>" in t]) == 1
    assert len(digests(slack)) == 1


def test_what_went_wrong_before_slack_failed_during_the_dms_is_told_when_they_go_out(
    gl, store, slack, clock
):
    """The digest channel refused the post (`channel_not_found`), then Slack failed during the
    approvers' DMs: the pass that sends the rest tells the admins about the channel too. (It
    told only what it found itself: the channel's problem was lost.)"""
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    engine.execute(Submit("U0AUTHOR", "Waiting for Anna"))
    slack.fail("chat.postMessage", "channel_not_found", times=1)  # the channel post
    slack.server_error("users.info", times=None, status=503)
    run_workers(gl, store, workers=1)
    assert digests(slack) == [] and slack.messages("U0ANNA") == []
    slack.clear_faults()
    clock.advance(minutes=2)
    run_workers(gl, store)
    assert len(slack.messages("U0ANNA")) == 1
    notice = "The digest for <#C0SOCIAL> needs your attention"
    told = [rendered(m) for m in slack.messages("U0ADMIN") if notice in rendered(m)]
    assert len(told) == 1
    assert "I could not post the daily digest in <#C0SOCIAL>" in told[0]


def test_admins_slack_could_not_tell_hear_of_the_problems_on_a_later_pass(gl, store, slack, clock):
    """Slack is down just when the admins are to hear what went wrong with a digest (its
    private channel refused the post): a later pass that day tells them, once. (The problems
    were dropped.)"""
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 in Rome
    digest = next(d for d in gl.config.digest if d.channel == "C0SECRET")
    due = due_occurrence(gl.config, digest, clock.now)
    assert due is not None
    slack.server_error("chat.postMessage", times=None, status=503, after=1)  # after the post
    DigestSend(gl, slack_client(gl.settings), store).send(due, clock.now)
    notice = "The digest for <#C0SECRET> needs your attention"
    assert not [m for m in slack.messages("U0ADMIN") if notice in rendered(m)]
    slack.clear_faults()
    clock.advance(minutes=2)
    run_workers(gl, store)
    run_workers(gl, store)
    told = [rendered(m) for m in slack.messages("U0ADMIN") if notice in rendered(m)]
    assert len(told) == 1 and "invite me with `/invite @Greenlight`" in told[0]


def test_personal_dms_slack_keeps_failing_are_tried_again_every_two_minutes_not_every_pass(
    gl, store, slack, clock
):
    """While Slack stays down after the channel post, a worker tries the rest of the day's
    personal DMs again every two minutes, as it does a digest Slack refused, not on every pass
    (twice a second, each with the client's retries and a logged traceback)."""
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    engine.execute(Submit("U0AUTHOR", "Waiting for Anna"))
    slack.server_error("users.info", times=None, status=503)
    job = DigestJob(gl, slack_client(gl.settings), "w")
    job(store, not_stopping)
    tried = len(slack.calls("users.info"))
    for _ in range(3):  # passes within the two minutes: Slack is left alone
        clock.advance(seconds=30)
        job(store, not_stopping)
    assert len(slack.calls("users.info")) == tried
    slack.clear_faults()
    clock.advance(seconds=30)  # two minutes since it failed
    job(store, not_stopping)
    assert len(slack.messages("U0ANNA")) == 1


def test_a_worker_told_to_stop_during_the_personal_dms_leaves_the_rest_to_the_next_pass(
    gl, store, slack, clock
):
    """SIGTERM while a digest's personal DMs go out (one Slack call each: a large team's take
    longer than a platform's 30 s kill grace): the worker stops after the DM in hand, and the
    next pass, by another worker, sends the others and tells the admins, each once."""
    engine = gl.engine(store.team, slack_client(gl.settings))
    clock.now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 in Rome
    engine.execute(Submit("U0AUTHOR", "Waiting for Anna and the editors"))

    def personal_dms() -> list[str]:
        return [user for user in ("U0ANNA", "U0ED1") for _ in slack.messages(user)]

    def stop_after_the_first_dm() -> bool:
        return len(personal_dms()) >= 1

    DigestJob(gl, slack_client(gl.settings), "stopping")(store, stop_after_the_first_dm)
    assert len(digests(slack)) == 1 and personal_dms() == ["U0ANNA"]
    notice = "The digest for <#C0SOCIAL> needs your attention"
    assert not [m for m in slack.messages("U0ADMIN") if notice in rendered(m)]
    run_workers(gl, store)
    run_workers(gl, store)
    assert len(digests(slack)) == 1 and sorted(personal_dms()) == ["U0ANNA", "U0ED1"]
    told = [rendered(m) for m in slack.messages("U0ADMIN") if notice in rendered(m)]
    assert len(told) == 1
    assert "`U0GONE`" in told[0] and "`S0OLD`" in told[0]  # in one notice
