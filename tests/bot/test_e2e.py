"""The whole path production uses: signed requests over HTTP to `greenlight run` (gunicorn),
a real Redis, and the Slack emulator answering the bot's Web API calls."""

from __future__ import annotations

import json
import re
import threading

from bot.sandbox.workspace import Message
from tests.bot.conftest import EDITORS, TEAM, Live, rendered
from workflows.models import PostState


def test_draft_in_intake_goes_through_two_steps_to_approved(live: Live):
    post_id = live.draft("Our spring collection is here 🌸")
    shown = rendered(live.card(post_id))
    assert "Our spring collection is here 🌸" in shown and "Copy review" in shown
    # the author hears where the draft stands, in the thread of their message
    thread = live.eventually(
        lambda: [m for m in live.slack.messages("C0DRAFTS") if m.thread_ts and post_id in m.text]
    )
    assert "waiting for *Copy review*" in thread[0].text and "open the card" in thread[0].text
    # approvers got the card by DM too
    assert live.eventually(lambda: live.card(post_id, "U0ANNA"))

    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    brand_card = live.eventually(lambda: live.card(post_id, "U0BRAND"))
    assert brand_card is not None
    assert live.sender.click("U0BRAND", "U0BRAND", brand_card.ts, "gl_approve").status == 200
    # approved, then published by the worker: exactly the approved text, once
    live.eventually(lambda: live.store.get(post_id).state == PostState.PUBLISHED)
    published = [m for m in live.slack.messages("C0ANNOUNCE") if "spring collection" in m.text]
    assert [m.text for m in published] == ["Our spring collection is here 🌸"]
    # every copy of the card is updated in place, loses its buttons and links the post
    live.eventually(lambda: live.card_says(post_id, "Published"))
    card = live.card(post_id)
    assert not [b for b in card.blocks if b["type"] == "actions"]
    assert "/archives/C0ANNOUNCE/" in rendered(card)
    assert live.eventually(lambda: live.card_says(post_id, "Published", "U0ANNA"))
    actions = [e["action"] for e in live.store.history(post_id)]
    assert actions == ["submit", "approve", "approve", "publish_started", "published"]


def test_a_group_member_approves_when_the_group_is_not_cached(live: Live):
    """Who is in a user group is asked of Slack after the acknowledgement, then decided."""
    post_id = live.draft("Decided by an editor")
    live.store.redis.delete(live.store.keys.cache("usergroup", "S0EDITORS"))
    before = len(live.slack.calls("usergroups.users.list"))
    assert live.click("U0ED05", post_id, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    assert live.store.get(post_id).steps[0].votes[0].actor == "U0ED05"
    assert len(live.slack.calls("usergroups.users.list")) > before
    # kept for a short while only, so a change of membership in Slack reaches Greenlight
    assert 0 < live.store.redis.ttl(live.store.keys.cache("usergroup", "S0EDITORS")) <= 300
    assert 0 < live.store.redis.ttl(live.store.keys.cache("user", "U0ANNA")) <= 300


def test_a_member_who_left_is_reported_to_the_author(live: Live):
    post_id = live.draft("Notice for the brand step")
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    thread = live.store.get(post_id).source.ts  # told under the author's own draft
    warning = live.eventually(
        lambda: [
            m
            for m in live.slack.messages("C0DRAFTS")
            if m.thread_ts == thread and "who left Slack" in m.text
        ]
    )
    assert "<@U0GONE>" in warning[-1].text


def test_request_changes_then_edit_restarts_the_chain(live: Live):
    post_id = live.draft("Saldi di primavera")
    notice = live.request_changes(post_id, "Add the dates")
    assert live.store.get(post_id).state == PostState.DRAFT
    # the author edits from the DM's button: the modal comes prefilled
    edit = live.new_modal(
        "U0AUTHOR", lambda: live.sender.click("U0AUTHOR", "U0AUTHOR", notice.ts, "gl_edit_draft")
    )
    assert "Saldi di primavera" in json.dumps(edit.payload, ensure_ascii=False)
    values = {"text": {"text": {"type": "plain_text_input", "value": "Saldi dal 1 al 10 marzo"}}}
    assert live.sender.submit_view("U0AUTHOR", edit.id, values).status == 200
    post = live.eventually(lambda: (p := live.store.get(post_id)).revision.number == 2 and p)
    assert post.state == PostState.IN_REVIEW and post.current_step == 0
    assert live.eventually(lambda: live.card_says(post_id, "revision 2"))


def test_a_draft_longer_than_a_form_is_not_cut_by_edit_draft(live: Live):
    """Slack's text field holds 3,000 characters: Edit draft on a longer draft opens no form
    (saving it would have cut the draft's end) and says how to edit it instead."""
    text = "Spring catalogue, every item described. " * 125  # 5,000 characters
    post_id = live.draft(text)
    notice = live.request_changes(post_id, "Shorter, please")
    opened = len(live.slack.calls("views.open"))
    click = live.sender.click("U0AUTHOR", "U0AUTHOR", notice.ts, "gl_edit_draft")
    assert click.status == 200
    (reply,) = live.eventually(
        lambda: [
            p.body
            for p in live.slack.response_url_posts()
            if f"Draft #{post_id} is 5,000 characters" in p.body["text"]
        ]
    )
    assert "Its author can edit the message in <#C0DRAFTS>" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert len(live.slack.calls("views.open")) == opened
    assert live.store.get(post_id).revision.text == text


def test_reject_with_reason_finishes_the_post(live: Live):
    post_id = live.draft("Something off-brand")
    modal = live.new_modal("U0ANNA", lambda: live.click("U0ANNA", post_id, "gl_reject"))
    empty = live.sender.submit_view("U0ANNA", modal.id, {"reason": {"reason": {"value": " "}}})
    assert empty.json()["response_action"] == "errors"
    assert live.store.get(post_id).state == PostState.IN_REVIEW
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "Off-brand"}}}
    assert live.sender.submit_view("U0ANNA", modal.id, values).status == 200
    live.eventually(lambda: live.store.get(post_id).state == PostState.REJECTED)
    assert live.eventually(lambda: live.card_says(post_id, "Off-brand"))


def test_a_reason_for_a_step_decided_meanwhile_stays_in_its_form(live: Live):
    """Luca writes why he rejects while Anna approves the step: his form stays open with the
    refusal under his reason (which he keeps), and nothing changes."""
    post_id = live.draft("Decided while Luca writes")
    modal = live.new_modal("U0LUCA", lambda: live.click("U0LUCA", post_id, "gl_reject"))
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "Off-brand, sorry"}}}
    answer = live.sender.submit_view("U0LUCA", modal.id, values).json()
    assert answer["response_action"] == "errors"
    error = answer["errors"]["reason"]  # plain text: names, not ids Slack would not turn
    assert "it now waits for" in error and "@u0anna (approve)" in error and "U0ANNA" not in error
    assert modal.id in [view.id for view in live.slack.modal_stack("U0LUCA")]
    post = live.store.get(post_id)
    assert post.state == PostState.IN_REVIEW and post.current_step == 1


def test_a_reason_refused_after_its_form_closed_comes_back_by_dm_with_what_was_written(
    live: Live,
):
    """An editor opens Request changes, then leaves the editors' group in Slack: deciding
    needs Slack (the group is no longer cached), so the form closes first; the refusal then
    comes by DM with the reason they wrote, so nothing typed is lost."""
    post_id = live.draft("Group membership changes")
    modal = live.new_modal("U0ED07", lambda: live.click("U0ED07", post_id, "gl_request_changes"))
    cached = live.store.keys.cache("usergroup", "S0EDITORS")
    live.slack.add_usergroup("S0EDITORS", [e for e in EDITORS if e != "U0ED07"])
    live.store.redis.delete(cached)
    try:
        reason = "Please add the opening hours"
        values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
        answer = live.sender.submit_view("U0ED07", modal.id, values)
        assert answer.status == 200 and not answer.body  # the form closed
        (dm,) = live.eventually(
            lambda: [m for m in live.slack.messages("U0ED07") if "Nothing was saved" in rendered(m)]
        )
        assert reason in rendered(dm) and ":no_entry_sign:" in dm.text
    finally:
        live.slack.add_usergroup("S0EDITORS", [*EDITORS, "U0AUTHOR"])  # as the fixture made it
        live.store.redis.delete(cached)
    assert live.store.get(post_id).state == PostState.IN_REVIEW


def test_refused_clicks_explain_privately_and_change_nothing(live: Live):
    post_id = live.draft("A draft to click on")
    before = live.store.get(post_id)
    for user in ("U0AUTHOR", "U0BRAND", "U0NOBODY"):
        assert live.click(user, post_id, "gl_approve").status == 200
    about = re.compile(rf"\bpost {post_id}\b", re.IGNORECASE)

    def replies() -> list[dict]:
        return [p.body for p in live.slack.response_url_posts() if about.search(p.body["text"])]

    live.eventually(lambda: len(replies()) >= 3)
    replies = replies()
    texts = " ".join(r["text"] for r in replies)
    assert f"You wrote post {post_id}" in texts
    assert "You approve step “Brand”" in texts
    assert "<!subteam^S0EDITORS>" in texts
    assert all(r.get("response_type") == "ephemeral" for r in replies)
    assert live.store.get(post_id) == before


def test_a_refusal_slack_would_not_take_as_a_private_reply_comes_by_dm(live: Live):
    """Slack answers 503 to the click's response_url (its webhooks can fail, and Bolt's
    `respond` neither raises nor retries): the refusal reaches the clicker by DM instead of
    vanishing."""
    post_id = live.draft("A draft its author approves")

    def told() -> list[Message]:
        return [m for m in live.slack.messages("U0AUTHOR") if f"You wrote post {post_id}" in m.text]

    live.settle()
    live.slack.server_error("response_url", times=None, status=503)
    try:
        assert live.click("U0AUTHOR", post_id, "gl_approve").status == 200
        live.eventually(told)
        live.settle()
    finally:
        live.slack.clear_faults()
    assert len(told()) == 1
    assert [p.status for p in live.slack.response_url_posts() if p.user_id == "U0AUTHOR"][-1] == 503


def test_reject_and_request_changes_refused_open_no_form_and_explain_privately(live: Live):
    """Reject and Request changes ask the engine before opening the reason form: the author,
    someone who is not an approver of the step, and anyone after the step was decided get a
    private explanation and no form to fill in for nothing."""
    post_id = live.draft("Reasons nobody should write")
    opened = len(live.slack.calls("views.open"))

    about = re.compile(rf"\bpost {post_id}\b", re.IGNORECASE)

    def told(user: str, words: str) -> list[str]:
        return [t for t in live.private_replies(user) if words in t and about.search(t)]

    assert live.click("U0AUTHOR", post_id, "gl_reject").status == 200
    assert live.click("U0BRAND", post_id, "gl_request_changes").status == 200
    live.eventually(lambda: told("U0AUTHOR", "You wrote post"))  # the author
    live.eventually(lambda: told("U0BRAND", "You approve step “Brand”"))  # not this step's
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    assert live.click("U0LUCA", post_id, "gl_reject").status == 200
    live.eventually(lambda: told("U0LUCA", "it now waits for"))  # decided meanwhile
    assert len(live.slack.calls("views.open")) == opened


def test_click_on_an_outdated_card_says_so(live: Live):
    post_id = live.draft("Version one")
    old_card = live.card(post_id)
    # the author edits their message in the intake channel
    live.edit_intake(post_id, "Version two")
    live.eventually(lambda: live.store.get(post_id).revision.number == 2)
    stale_message = {**old_card.to_api()}
    live.sender.block_actions(
        "U0ANNA",
        [a for b in old_card.blocks if b["type"] == "actions" for a in b["elements"]][:1],
        channel_id="C0APPROVALS",
        message=stale_message,
    )
    reply = live.eventually(
        lambda: [
            p.body
            for p in live.slack.response_url_posts()
            if f"revision 1 of post {post_id}" in p.body.get("text", "")
        ]
    )
    assert "now at revision 2" in reply[-1]["text"]
    # who can act now: the first step's approvers, users and group alike
    assert "Revision 2 waits for step “Copy review”, which <@U0ANNA>" in reply[-1]["text"]
    assert "<!subteam^S0EDITORS> can decide" in reply[-1]["text"]
    assert live.store.get(post_id).steps[0].votes == []


def test_twenty_editors_clicking_at_once_advance_the_step_once(live: Live):
    post_id = live.draft("Crowd approval")
    card = live.card(post_id).to_api()  # everyone clicks the card as it was rendered
    approve = next(
        e
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "gl_approve"
    )
    barrier = threading.Barrier(len(EDITORS))
    statuses: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        delivery = live.sender.block_actions(
            user, [approve], channel_id="C0APPROVALS", message=card
        )
        statuses.append(delivery.status)

    threads = [threading.Thread(target=click, args=(u,)) for u in EDITORS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(EDITORS)
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    decided = f"of post {post_id} was already decided"

    def refusals() -> list[str]:
        return [
            p.body["text"]
            for p in live.slack.response_url_posts()
            if decided in p.body.get("text", "")
        ]

    live.eventually(lambda: len(refusals()) >= 19)
    assert len(refusals()) == 19
    post = live.store.get(post_id)
    assert len(post.steps[0].votes) == 1
    assert f"<@{post.steps[0].votes[0].actor}>" in refusals()[0]
    assert (
        "it now waits for step “Brand”, which <@U0BRAND> or <@U0GONE> can decide" in refusals()[0]
    )
    assert [e["action"] for e in live.store.history(post_id)] == ["submit", "approve"]


def test_slack_retrying_an_event_never_makes_a_second_draft(live: Live):
    message = live.slack.post_user_message("C0DRAFTS", "U0AUTHOR", "Retry me")
    event = {
        "type": "message",
        "channel": "C0DRAFTS",
        "user": "U0AUTHOR",
        "text": "Retry me",
        "ts": message.ts,
        "event_ts": message.ts,
        "team": TEAM,
    }
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    for retry in (None, 1, 2):
        assert live.sender.event(event, event_id="Ev0RETRY", retry_num=retry).status == 200
    new = live.eventually(lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before)
    live.eventually(lambda: live.card(next(iter(new))))
    live.settle()  # every retry has been handled, after its acknowledgement
    assert len(set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before) == 1


def test_unsigned_stale_and_forged_requests_get_401_and_the_server_keeps_serving(live: Live):
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    for signing in ("none", "stale", "wrong"):
        assert (
            live.sender.user_message("U0AUTHOR", "C0DRAFTS", "forged", signing=signing).status
            == 401
        )
        assert (
            live.sender.command(
                "/greenlight", "queue", user_id="U0ANNA", channel_id="C0DRAFTS", signing=signing
            ).status
            == 401
        )
    assert set(live.store.ids_by_author("U0AUTHOR", limit=1000)) == before
    assert (
        live.sender.command("/greenlight", "help", user_id="U0ANNA", channel_id="C0DRAFTS").status
        == 200
    )


def test_malformed_and_unknown_interactions_get_4xx(live: Live):
    form = "application/x-www-form-urlencoded"
    broken = [b"payload=%7Bnot-json", b"payload=null", b"payload=%5B1%5D"]
    for body in broken:  # not JSON, not an object: 400, not a 500
        garbage = live.sender.send(body, form)
        assert garbage.status == 400 and "malformed request" in garbage.text, body
        for signing in ("none", "wrong", "stale"):  # checked before the body is decoded
            assert live.sender.send(body, form, signing=signing).status == 401
    odd = {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}
    assert live.sender.send(broken[0], form, signing="none", headers=odd).status == 401
    # Not UTF-8 (Slack never sends it, and its signature cannot be checked): 401, not a 500.
    assert live.sender.send(b"payload=\xff\xfe", form, signing="none").status == 401
    anonymous = live.sender.send(
        b"command=%2Fgreenlight&text=queue&team_id=" + live.store.team.encode(),
        "application/x-www-form-urlencoded",
    )
    assert anonymous.status == 400 and "without user_id" in anonymous.text
    unknown = live.sender.block_actions(
        "U0ANNA", [{"action_id": "gl_launch_missiles", "value": "x", "type": "button"}]
    )
    assert unknown.status == 404
    forged = live.sender.block_actions(
        "U0ANNA",
        [{"action_id": "gl_approve", "value": '{"p": 1', "type": "button", "block_id": "b"}],
        channel_id="C0APPROVALS",
        message={"ts": "1.0", "text": "x"},
    )
    assert forged.status == 200
    reply = live.eventually(
        lambda: [
            p.body
            for p in live.slack.response_url_posts()
            if "not made by Greenlight" in p.body.get("text", "")
        ]
    )
    assert reply


def test_a_risky_draft_gets_legal_review_and_a_justified_final_approval(live: Live):
    post_id = live.draft("Our new cream cures cancer, clinically proven!")
    shown = rendered(live.card(post_id))
    assert "legal or medical claim" in shown and "cures cancer" in shown  # the warning, quoted
    for user in ("U0ANNA", "U0BRAND"):
        card = live.eventually(lambda u=user: live.card(post_id, u))
        assert live.sender.click(user, user, card.ts, "gl_approve").status == 200
        live.eventually(
            lambda u=user: (
                live.card(post_id, u)
                and live.store.get(post_id).steps[["U0ANNA", "U0BRAND"].index(u)].status
                == "approved"
            )
        )
    legal = live.eventually(lambda: live.card(post_id, "U0LEGAL"))
    modal = live.new_modal(
        "U0LEGAL", lambda: live.sender.click("U0LEGAL", "U0LEGAL", legal.ts, "gl_approve")
    )
    assert live.store.get(post_id).state == PostState.IN_REVIEW  # nothing until justified
    values = {
        "reason": {
            "reason": {
                "type": "plain_text_input",
                "value": "Claim removed? No: approved by counsel, ref. 2026-114",
            }
        }
    }
    assert live.sender.submit_view("U0LEGAL", modal.id, values).status == 200
    live.eventually(
        lambda: (
            live.store.get(post_id).state
            in (PostState.APPROVED, PostState.PUBLISHING, PostState.PUBLISHED)
        )
    )
    approval = next(e for e in live.store.history(post_id) if e["actor"] == "U0LEGAL")
    assert approval["reason"].endswith("ref. 2026-114")
