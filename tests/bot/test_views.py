"""View builders: whatever the draft, every message and modal passes slack_sdk's validation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot.payloads import new_time_input
from bot.views.card import APPROVE, RESCHEDULE, approval_card, card_fallback
from bot.views.digest import digest_blocks
from bot.views.format import chunks, link_ids, when
from bot.views.home import home_view
from bot.views.messages import author_notice, config_text, history_text, line_list, post_list
from bot.views.modals import NEW_TIME, draft_modal, edit_modal, reason_modal, reschedule_modal
from workflows.analytics import WeekNumbers
from workflows.commands import Approve, Reject, Revise, Submit
from workflows.digest import DigestData, Section
from workflows.models import PostState


@dataclass
class Finding:
    category: str
    severity: str
    excerpt: str
    message: str


def validate(blocks: list[Block]) -> list[dict]:
    assert len(blocks) <= 50
    for block in blocks:
        block.validate_json()
    return [b.to_dict() for b in blocks]


def texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_card_shows_exact_text_chain_findings_and_buttons(engine):
    post = engine.execute(Submit("U0AUTHOR", "Saldi <subito> & sconti 🌸")).post
    findings = [Finding("profanity", "high", "merda", "Vulgar word: remove it.")]
    blocks = validate(approval_card(post, findings))
    rendered = texts(blocks)
    assert "Saldi <subito> & sconti 🌸" in rendered  # plain text: shown exactly
    assert "Copy review" in rendered and "<!subteam^S0EDITORS>" in rendered
    assert "profanity" in rendered and "Vulgar word: remove it." in rendered
    actions = next(b for b in blocks if b["type"] == "actions")
    approve = next(e for e in actions["elements"] if e["action_id"] == APPROVE)
    assert json.loads(approve["value"]) == {"p": post.id, "r": 1, "s": 0}
    assert card_fallback(post).startswith(f"Draft #{post.id} (revision 1)")


def test_finished_card_has_no_buttons_and_says_why(engine):
    post = engine.execute(Submit("U0AUTHOR", "Hello")).post
    outcome = engine.execute(Reject("U0ANNA", post.id, 1, 0, "Wrong <date>"))
    blocks = validate(approval_card(outcome.post, []))
    assert not [b for b in blocks if b["type"] == "actions"]
    rendered = texts(blocks)
    assert "Rejected" in rendered and "Wrong &lt;date&gt;" in rendered
    assert "<@U0ANNA> rejected" in rendered


def test_huge_text_and_many_findings_stay_within_slack_limits(engine):
    text = ("Una frase lunga per il lancio. " * 40 + "\n") * 35  # about 43,000 characters
    post = engine.execute(Submit("U0AUTHOR", text)).post
    findings = [Finding("link_problem", "low", "x" * 500, "y" * 3000) for _ in range(60)]
    blocks = validate(approval_card(post, findings))
    rendered = texts(blocks)
    assert "more characters not shown here" in rendered
    assert "…and 52 more warnings." in rendered


def test_status_shows_the_whole_text_of_the_longest_message_within_slack_limits(engine):
    """`/greenlight status` promises the whole text the card cuts: even 40,000 characters
    (Slack's longest message) with a line break every 1,501, which splits into the most
    pieces, fit one message beside a frozen banner and many findings."""
    line = "x" * 1500 + "\n"
    text = (line * 27)[:40_000]
    post = engine.execute(Submit("U0AUTHOR", text)).post
    findings = [Finding("link_problem", "low", "x" * 500, "y" * 3000) for _ in range(60)]
    freeze = {"reason": "Crisis", "by": "U0ADMIN", "at": "2026-01-01T00:00:00+00:00"}
    blocks = validate(approval_card(post, findings, freeze, whole_text=True))
    shown = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert "".join(t for t in shown if set(t) <= {"x", "\n"}) == text
    assert "more characters not shown" not in texts(blocks)


def test_chunks_keep_every_character():
    text = "a" * 2500 + "\n" + "b" * 4000
    pieces = chunks(text, 3000)
    assert "".join(pieces) == text and all(len(p) <= 3000 for p in pieces)


def test_modals_validate_and_carry_what_the_submission_needs(engine, config):
    post = engine.execute(Submit("U0AUTHOR", "x" * 5000, campaign="spring")).post
    draft_modal(config, "C0DRAFTS", text="y" * 4000).validate_json()
    edit = edit_modal(config, post)
    edit.validate_json()
    assert json.loads(edit.private_metadata) == {"p": post.id, "r": 1}
    reason = reason_modal(post, 0, "reject")
    reason.validate_json()
    assert json.loads(reason.private_metadata) == {"p": post.id, "r": 1, "s": 0, "v": "reject"}
    justify = reason_modal(post, 0, "approve")
    justify.validate_json()
    assert "despite the risk" in json.dumps(justify.to_dict())


def test_home_lists_validate_and_mark_overdue(engine, clock):
    first = engine.execute(Submit("U0AUTHOR", "old news")).post
    clock.advance(hours=30)
    queue = engine.queue_for("U0ANNA")
    view = home_view(queue=queue, mine=queue, scheduled=[], freeze=None, now=clock())
    view.validate_json()
    rendered = json.dumps(view.to_dict())
    assert f"*#{first.id}*" in rendered and "overdue" in rendered
    many = [first] * 200
    assert len(post_list("Waiting", many, clock(), "none")) <= 3000


def test_a_long_history_shows_its_newest_entries_in_whole_lines(engine, clock):
    """A post revised forty times: the history keeps the newest entries (how it ended), in
    whole lines, and says how many earlier ones it leaves out. (It was cut at 3,000
    characters from the start: the newest entries went, and a mention or date token could be
    cut in half.)"""
    post = engine.execute(Submit("U0AUTHOR", "Version 0")).post
    for n in range(1, 41):
        clock.advance(minutes=1)
        engine.execute(Revise("U0AUTHOR", post.id, n, text=f"Version {n}"))
    engine.execute(Reject("U0ANNA", post.id, 41, 0, "Enough versions"))
    history = history_text(post.id, engine.store.history(post.id))
    lines = history.split("\n")
    assert len(history) <= 3000 and lines[0] == f"*History of draft #{post.id}*"
    assert lines[-1].endswith("→ rejected: “Enough versions”")
    earlier = 42 - (len(lines) - 2)
    assert lines[1] == f"…{earlier} earlier entries not shown." and earlier > 0
    assert all(line.count("<") == line.count(">") for line in lines)


def test_history_config_and_author_notice(engine, config, clock):
    post = engine.execute(Submit("U0AUTHOR", "Hello")).post
    engine.execute(Approve("U0ANNA", post.id, 1, 0))
    history = history_text(post.id, engine.store.history(post.id))
    assert "<@U0ANNA> · approve (revision 1 · Copy review)" in history
    described = config_text(config)
    assert "only when the risk is high or worse" in described
    assert "<!subteam^S0EDITORS>" in described
    validate(author_notice(post, "U0ANNA", "request_changes", "Shorter"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "only U0ANNA or members of S0EDITORS",
            "only <@U0ANNA> or members of <!subteam^S0EDITORS>",
        ),
        ("USA and SUMMER stay words", "USA and SUMMER stay words"),
    ],
)
def test_domain_ids_become_mentions(text, expected):
    assert link_ids(text) == expected


def test_times_render_in_each_readers_zone(clock):
    assert when(clock()) == "<!date^1772355600^{date_short_pretty} at {time}|2026-03-01 09:00 UTC>"


def test_digest_preview_offers_a_button_per_digest_channel_or_says_none_is_set():
    now = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    empty = Section([], 0)
    data = DigestData(
        now,
        now - timedelta(days=1),
        None,
        empty,
        empty,
        empty,
        empty,
        empty,
        empty,
        None,
        [],
        WeekNumbers(),
    )
    scheduled = validate(digest_blocks(data, "Greenlight digest"))
    assert not [b for b in scheduled if b["type"] == "actions"]
    assert "Only you see" not in texts(scheduled)
    one = validate(digest_blocks(data, "Greenlight digest", ["C0SOCIAL"], preview=True))
    (buttons,) = [b["elements"] for b in one if b["type"] == "actions"]
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [
        ("Post in the channel", "C0SOCIAL")
    ]
    assert "<#C0SOCIAL>" in texts(one) and "Nothing waits" in texts(one)
    none = validate(digest_blocks(data, "Greenlight digest", [], preview=True))
    assert "No daily digest is configured" in texts(none)


def approved_post(engine, **submit):
    post = engine.execute(Submit("U0AUTHOR", "Spring sale 🌸", **submit)).post
    engine.execute(Approve("U0ANNA", post.id, 1, 0))
    engine.execute(Approve("U0BRAND", post.id, 1, 1))
    return engine.execute(Approve("U0BRAND2", post.id, 1, 1)).post


def test_approved_posts_offer_reschedule_on_the_card_and_in_app_home(engine, clock):
    scheduled = approved_post(engine, scheduled_at=clock() + timedelta(days=2))
    assert scheduled.state == PostState.SCHEDULED
    blocks = validate(approval_card(scheduled, []))
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    (button,) = [e for e in buttons if e["action_id"] == RESCHEDULE]
    assert button["text"]["text"] == "Reschedule"
    assert json.loads(button["value"]) == {"p": scheduled.id, "r": 1}
    in_review = engine.execute(Submit("U0AUTHOR", "Not yet")).post
    assert RESCHEDULE not in texts(validate(approval_card(in_review, [])))  # not approved yet
    home = home_view(
        queue=[], mine=[scheduled, in_review], scheduled=[scheduled], freeze=None, now=clock()
    )
    home.validate_json()
    actions = [b for b in home.to_dict()["blocks"] if b["type"] == "actions"]
    assert [[e["text"]["text"] for e in a["elements"]] for a in actions] == [
        [f"Reschedule #{scheduled.id}"],  # under "Your drafts": not the draft in review
        [f"Reschedule #{scheduled.id}"],  # under "Going out next"
    ]


def test_the_reschedule_modal_picks_a_date_and_a_time_in_the_teams_zone(engine, clock):
    at = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)  # 18:30 in Rome
    post = approved_post(engine, scheduled_at=at)
    modal = reschedule_modal(post, "Europe/Rome", clock(), from_home=True)
    modal.validate_json()
    view = modal.to_dict()
    assert view["callback_id"] == NEW_TIME
    assert json.loads(view["private_metadata"]) == {"p": post.id, "r": 1, "h": 1}
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["date"] == {
        "type": "datepicker",
        "action_id": "date",
        "initial_date": "2026-03-05",
    }
    assert inputs["time"]["type"] == "timepicker" and inputs["time"]["initial_time"] == "18:30"
    assert inputs["time"]["timezone"] == "Europe/Rome"
    assert "needs no new approval" in json.dumps(view)
    values = {
        "date": {"date": {"type": "datepicker", "selected_date": "2026-03-06"}},
        "time": {
            "time": {"type": "timepicker", "selected_time": "09:15", "timezone": "Europe/Rome"}
        },
    }
    assert new_time_input(values, "UTC") == datetime(2026, 3, 6, 8, 15, tzinfo=UTC)
    del values["time"]["time"]["timezone"]  # no zone reported: the workflow file's
    assert new_time_input(values, "Europe/Rome") == datetime(2026, 3, 6, 8, 15, tzinfo=UTC)
    assert new_time_input({"date": values["date"]}, "UTC") is None


def test_a_long_list_keeps_whole_lines_in_order_and_counts_the_rest():
    lines = [f"*#{n}* · In review\n> " + "x" * 50 for n in range(200)]
    text = line_list("Waiting for you", lines, "Nothing waits.")
    shown = text.split("\n…and ")[0]
    kept = len(shown.split("\n")) // 2
    assert len(text) <= 3000
    assert shown == "*Waiting for you*\n" + "\n".join(lines[:kept])
    assert text.endswith(f"…and {200 - kept} more.")
    assert line_list("Waiting for you", lines[:3], "x") == "*Waiting for you*\n" + "\n".join(
        lines[:3]
    )
