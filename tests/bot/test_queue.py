"""`/greenlight queue` lines kept per post version (`bot.queue`) against a real Redis and the real
engine: always the same answer as judging and rendering every waiting post afresh."""

from __future__ import annotations

from datetime import timedelta

from bot.queue import QueueLines
from bot.views.messages import line_list, post_list
from tests.conftest import GROUPS, keyword_risk
from workflows.commands import Approve, Revise, Submit
from workflows.engine import Engine

AUTHOR = "U0AUTHOR"


def fresh(engine: Engine, user: str) -> str:
    return post_list("q", engine.queue_for(user), engine.clock(), "none")


def cached(queue: QueueLines, engine: Engine, user: str) -> str:
    return line_list("q", queue.lines(engine, user, engine.clock()), "none")


def draft(engine: Engine, text: str) -> str:
    return engine.execute(Submit(actor=AUTHOR, text=text)).post.id  # type: ignore[union-attr]


def test_lines_follow_every_change_of_a_post(engine: Engine, clock):
    queue = QueueLines()
    first, second = draft(engine, "one"), draft(engine, "two")
    for user in ("U0ANNA", "U0ED1", AUTHOR, "U0BRAND"):
        assert cached(queue, engine, user) == fresh(engine, user)
    assert f"*#{first}*" in cached(queue, engine, "U0ANNA")
    # a decision moves the post on: the next answer reads it again
    engine.execute(Approve("U0ANNA", first, 1, 0))
    assert f"*#{first}*" not in cached(queue, engine, "U0ANNA")
    assert f"*#{first}*" in cached(queue, engine, "U0BRAND")
    # a new revision restarts the chain: back in the queue, with its new text
    engine.execute(Revise(AUTHOR, first, 1, text="one, again"))
    assert "one, again" in cached(queue, engine, "U0ANNA")
    for user in ("U0ANNA", "U0ED1", AUTHOR, "U0BRAND"):
        assert cached(queue, engine, user) == fresh(engine, user)
    assert f"*#{second}*" in cached(queue, engine, "U0ED1")


def test_overdue_mark_appears_with_time_alone(engine: Engine, clock):
    queue = QueueLines()
    post_id = draft(engine, "late")
    assert "overdue" not in cached(queue, engine, "U0ANNA")
    clock.advance(hours=25)
    assert "overdue" in cached(queue, engine, "U0ANNA")
    assert cached(queue, engine, "U0ANNA") == fresh(engine, "U0ANNA")
    assert f"*#{post_id}*" in cached(queue, engine, "U0ANNA")


def test_a_kept_answer_turns_overdue_when_the_scheduled_time_passes(engine: Engine, clock):
    """An answer is kept while nothing it shows changed, but never past the moment one of
    its lines turns overdue: here a draft still in review when its time comes."""
    queue = QueueLines()
    post = engine.execute(
        Submit(actor=AUTHOR, text="launch", scheduled_at=engine.clock() + timedelta(hours=2))
    ).post
    assert "overdue" not in cached(queue, engine, "U0ANNA")
    clock.advance(hours=1, minutes=59)
    assert "overdue" not in cached(queue, engine, "U0ANNA")
    clock.advance(minutes=1)
    assert f"*#{post.id}* · In review" in cached(queue, engine, "U0ANNA")
    assert "overdue" in cached(queue, engine, "U0ANNA")
    assert cached(queue, engine, "U0ANNA") == fresh(engine, "U0ANNA")


def test_entries_are_judged_again_after_max_age(engine: Engine, monkeypatch):
    ticks = [0.0]
    queue = QueueLines(max_age=60.0, monotonic=lambda: ticks[0])
    first, second = draft(engine, "one"), draft(engine, "two")
    expected = fresh(engine, "U0ANNA")
    judged: list[str] = []
    real = engine.waits_for
    monkeypatch.setattr(
        engine, "waits_for", lambda post, *rest: judged.append(post.id) or real(post, *rest)
    )
    assert cached(queue, engine, "U0ANNA") == expected
    assert sorted(judged) == sorted([first, second])  # the first answer judges both posts
    ticks[0] = 30.0
    assert cached(queue, engine, "U0ANNA") == expected
    assert len(judged) == 2  # within max_age and nothing changed: nothing judged again
    ticks[0] = 61.0
    assert cached(queue, engine, "U0ANNA") == expected
    assert sorted(judged[2:]) == sorted([first, second])  # past max_age: both judged again


def test_a_delegation_shows_in_the_delegates_queue_and_ends_with_the_absence(engine: Engine, clock):
    """Who is away is read at most every `away_max_age` seconds per process; an absence that
    ended takes the posts out of the delegate's queue at once."""
    ticks = [0.0]
    queue = QueueLines(away_max_age=5.0, monotonic=lambda: ticks[0])
    post_id = draft(engine, "for Anna")
    assert f"*#{post_id}*" not in cached(queue, engine, "U0DELEGATE")
    now = engine.clock()
    engine.store.set_away("U0ANNA", "tomorrow", now + timedelta(hours=6), "U0DELEGATE", now)
    ticks[0] = 5.1
    assert f"*#{post_id}*" in cached(queue, engine, "U0DELEGATE")
    assert cached(queue, engine, "U0DELEGATE") == fresh(engine, "U0DELEGATE")
    clock.advance(hours=7)  # Anna is back; the snapshot is not read again yet
    assert f"*#{post_id}*" not in cached(queue, engine, "U0DELEGATE")
    assert cached(queue, engine, "U0DELEGATE") == fresh(engine, "U0DELEGATE")


class ChangingDirectory:
    """User groups whose members change, as Slack's do."""

    def __init__(self) -> None:
        self.groups = {group: set(members) for group, members in GROUPS.items()}

    def members(self, usergroup: str) -> frozenset[str]:
        return frozenset(self.groups.get(usergroup, ()))


def test_joining_or_leaving_a_group_shows_once_absences_are_read_again(client, team, config, clock):
    """The groups a person is in are worked out again with the absences, at most every
    `away_max_age` seconds (5 s; the directory's own Redis cache holds members for 5 min): a
    new member sees the group's posts after that, and a member who left stops seeing them."""
    directory = ChangingDirectory()
    engine = Engine(client, team, config, directory, keyword_risk, clock)
    ticks = [0.0]
    queue = QueueLines(away_max_age=5.0, monotonic=lambda: ticks[0])
    post_id = draft(engine, "for the editors")
    assert f"*#{post_id}*" not in cached(queue, engine, "U0NEWBIE")
    directory.groups["S0EDITORS"].add("U0NEWBIE")
    ticks[0] = 4.0
    assert f"*#{post_id}*" not in cached(queue, engine, "U0NEWBIE")  # within the interval
    ticks[0] = 5.1
    assert f"*#{post_id}*" in cached(queue, engine, "U0NEWBIE")
    assert cached(queue, engine, "U0NEWBIE") == fresh(engine, "U0NEWBIE")
    directory.groups["S0EDITORS"].discard("U0NEWBIE")
    ticks[0] = 10.2
    assert (
        cached(queue, engine, "U0NEWBIE") == fresh(engine, "U0NEWBIE") == line_list("q", [], "none")
    )


def test_waiting_sets_merge_oldest_first_up_to_the_limit(engine: Engine):
    """A person and their groups: each post once, at its oldest wait, ties by id, expired
    posts left out; each post's last change comes with its id in the same answer (its version
    for a post written before those were kept)."""
    store, k = engine.store, engine.store.keys
    store.redis.zadd(k.waiting("U0X"), {"a": 30, "b": 10, "gone": 5})
    store.redis.zadd(k.waiting("S0X"), {"a": 20, "c": 10, "d": 40})
    for version, post_id in enumerate("abcd", start=1):
        store.redis.hset(k.post(post_id), "v", version)
    store.redis.hset(k.post("d"), "at", "1795690687825-0")  # written since audit ids are kept
    assert store.waiting_changes(["U0X", "S0X"], limit=3) == (None, [("b", "2"), ("c", "3")])
    assert store.ids_waiting_for(["U0X", "S0X"], limit=4) == ["gone", "b", "c", "a"]
    assert store.waiting_changes(["U0X", "S0X"])[1] == [
        ("b", "2"),
        ("c", "3"),
        ("a", "1"),
        ("d", "1795690687825-0"),
    ]
    assert store.waiting_changes(["U0X"])[1] == [("b", "2"), ("a", "1")]  # one set, same order
    assert store.waiting_changes([]) == (None, [])


def test_the_last_change_moves_with_every_transition(engine: Engine):
    """What lets a kept queue answer be given again without reading the waiting posts: the
    last change is the one it was made at only while no transition was committed since."""
    store = engine.store
    assert store.waiting_changes(["U0ANNA"]) == (None, [])  # no transition yet
    post_id = draft(engine, "counted")
    first, waiting = store.waiting_changes(["U0ANNA"], unless_last_change=None)
    assert first is not None and waiting == [(post_id, first)]  # the same transition
    assert store.waiting_changes(["U0ANNA"], unless_last_change=first) == (first, None)
    draft(engine, "someone else's business")  # any transition in the workspace counts
    second, waiting = store.waiting_changes(["U0NOBODY"], unless_last_change=first)
    assert second not in (None, first) and waiting == []  # changed, and nothing waits


def test_a_kept_answer_is_not_given_again_once_redis_lost_its_data(engine: Engine):
    """Redis back empty (a restart without persistence, a failover, an old snapshot): the
    kept answer must not come back, even once as many transitions happened again."""
    queue = QueueLines()
    draft(engine, "before the restart")
    assert "before the restart" in cached(queue, engine, "U0ANNA")
    engine.store.redis.flushdb()
    assert cached(queue, engine, "U0ANNA") == fresh(engine, "U0ANNA") == line_list("q", [], "none")
    draft(engine, "after the restart")  # the same post id, one transition, as before
    assert "before the restart" not in cached(queue, engine, "U0ANNA")
    assert cached(queue, engine, "U0ANNA") == fresh(engine, "U0ANNA")


def test_a_kept_answer_holds_for_its_own_limit_only(engine: Engine):
    queue = QueueLines()
    for text in ("one", "two", "three"):
        draft(engine, text)
    assert len(queue.lines(engine, "U0ANNA", engine.clock(), limit=1)) == 1
    assert len(queue.lines(engine, "U0ANNA", engine.clock(), limit=50)) == 3
