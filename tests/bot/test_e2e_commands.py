"""`/greenlight`, the message shortcut, App Home, message deletes and Slack failures, end to
end through `greenlight run`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from bot.payloads import typed_text
from bot.sandbox.payloads import as_slack_sends
from bot.sandbox.workspace import Message
from tests.bot.conftest import Live, rendered
from workflows.models import PostState


def answer(live: Live, text: str, user: str = "U0ANNA") -> tuple[dict, bool]:
    """Run `/greenlight text`: the answer's body, and whether it came in the acknowledgement
    itself (else it was posted to the command's `response_url` after an empty one)."""
    before = len(live.slack.response_url_posts())
    delivery = live.sender.command("/greenlight", text, user_id=user, channel_id="C0DRAFTS")
    assert delivery.status == 200
    if delivery.body:
        return delivery.json(), True
    posts = live.eventually(lambda: live.slack.response_url_posts()[before:])
    return posts[0].body, False


def command(live: Live, text: str, user: str = "U0ANNA") -> str:
    """Run `/greenlight text` and return the private answer."""
    return answer(live, text, user)[0].get("text", "")


def open_draft_modal(live: Live, user: str = "U0AUTHOR"):
    """`/greenlight draft`: the modal the bot opened for `user`."""
    return live.new_modal(
        user,
        lambda: live.sender.command("/greenlight", "draft", user_id=user, channel_id="C0DRAFTS"),
    )


def test_help_and_unknown_subcommands(live: Live):
    assert "/greenlight queue" in command(live, "help")
    unknown = command(live, "launch rockets")
    assert "I don't know `launch`" in unknown and "/greenlight queue" in unknown
    assert "/greenlight status ID" in command(live, "")


def test_queue_status_history_and_config(live: Live):
    post_id = live.draft("Queue me")
    assert f"*#{post_id}*" in command(live, "queue", "U0ANNA")
    assert f"*#{post_id}*" not in command(live, "queue", "U0BRAND")
    assert f"*#{post_id}*" in command(live, "mine", "U0AUTHOR")
    assert "Which draft?" in command(live, "status")
    assert f"Draft #{post_id}" in command(live, f"status {post_id}")
    assert "There is no draft #9999" in command(live, "status 9999")
    history = command(live, f"history #{post_id}")
    assert "submit" in history and "<@U0AUTHOR>" in history
    assert "Copy review" in command(live, "config")


def test_answers_come_in_the_acknowledgement_unless_slack_must_be_asked_first(live: Live):
    """No `response_url` call for an answer that only needs Redis; a cache miss that needs a
    Slack call acknowledges first, and the answer follows through `response_url`."""
    post_id = live.draft("Answer me at once")
    for text in ("queue", "help", "config", f"status {post_id}", "mine"):
        body, in_ack = answer(live, text)
        assert in_ack and body["response_type"] == "ephemeral", (text, body)
    body, in_ack = answer(live, "freeze Breaking news", "U0ADMIN")
    assert in_ack and body["response_type"] == "in_channel"
    assert "froze all publishing" in body["text"]
    assert answer(live, "unfreeze", "U0ADMIN")[1]
    # U0LUCA's time zone comes from users.info; with nothing cached, Slack is asked after the ack
    live.store.redis.delete(live.store.keys.cache("user", "U0LUCA"))
    body, in_ack = answer(live, "away until 2099-12-31", "U0LUCA")
    assert not in_ack and "You are away until the end of 2099-12-31" in body["text"]
    assert answer(live, "back", "U0LUCA")[1]


def test_queue_follows_decisions_in_every_web_process(live: Live):
    post_id = live.draft("Decide me")
    for _ in range(4):  # both web processes have it in their lines
        assert f"*#{post_id}*" in command(live, "queue", "U0ANNA")
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    for _ in range(4):
        assert f"*#{post_id}*" not in command(live, "queue", "U0ANNA")
        assert f"*#{post_id}*" in command(live, "queue", "U0BRAND")


def test_digest_preview_is_private_and_its_button_posts_it(live: Live):
    live.draft("Digest me")
    # The digest lists the 10 longest-waiting posts: after the session's other tests, the new
    # draft may not be one of them, but it counts.
    waiting = f"*Waiting for approval* ({len(live.store.ids_by_state(PostState.IN_REVIEW, 1000))})"
    preview, _ = answer(live, "digest")
    assert preview["response_type"] == "ephemeral"
    shown = json.dumps(preview["blocks"])
    assert waiting in shown
    assert "The last 7 days" in shown
    (button,) = [e for b in preview["blocks"] if b["type"] == "actions" for e in b["elements"]]
    in_channel = len(live.slack.messages("C0SOCIAL"))
    message = {"ts": "1.000001", "text": preview["text"], "blocks": preview["blocks"]}
    live.sender.block_actions("U0ANNA", [button], channel_id="C0DRAFTS", message=message)
    posted = live.eventually(lambda: live.slack.messages("C0SOCIAL")[in_channel:])
    assert waiting in rendered(posted[-1]) and "Greenlight digest" in rendered(posted[-1])
    live.eventually(
        lambda: any("Posted the digest in <#C0SOCIAL>" in r for r in live.private_replies("U0ANNA"))
    )
    forged = {**button, "value": "C0APPROVALS"}  # a button value naming another channel
    live.sender.block_actions("U0ANNA", [forged], channel_id="C0DRAFTS", message=message)
    live.eventually(
        lambda: any("not a digest channel" in r for r in live.private_replies("U0ANNA"))
    )


def test_draft_modal_creates_a_scheduled_draft(live: Live):
    modal = open_draft_modal(live)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    past = {
        "text": {"text": {"type": "plain_text_input", "value": "Launch"}},
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": 1000}},
    }
    answer = live.sender.submit_view("U0AUTHOR", modal.id, past)
    assert answer.json()["errors"]["schedule"].startswith("Pick a time in the future")
    values = {
        "text": {"text": {"type": "plain_text_input", "value": "Launch on X"}},
        "targets": {
            "targets": {"type": "multi_static_select", "selected_options": [{"value": "x"}]}
        },
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": 4102444800}},
        "campaign": {"campaign": {"type": "plain_text_input", "value": "spring"}},
    }
    assert live.sender.submit_view("U0AUTHOR", modal.id, values).status == 200
    (post_id,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    post = live.store.get(post_id)
    assert post.revision.targets == ["x"] and post.revision.campaign == "spring"
    assert post.revision.scheduled_at.year == 2100
    assert live.eventually(lambda: live.card_says(post_id, "<!date^4102444800^"))
    # the author hears about it by DM, since there is no intake message to reply to
    assert live.eventually(
        lambda: [
            m
            for m in live.slack.messages("U0AUTHOR")
            if f"Draft #{post_id} (revision 1) is" in m.text
        ]
    )


def test_cancel_and_freeze_need_the_right_person(live: Live):
    post_id = live.draft("Cancel me")
    assert "Only the author" in command(live, f"cancel {post_id}", "U0LUCA")
    assert f"Draft #{post_id} is cancelled" in command(live, f"cancel {post_id}", "U0AUTHOR")
    assert live.store.get(post_id).state == PostState.CANCELLED
    assert "Only admins" in command(live, "freeze Breaking news", "U0ANNA")
    assert "froze all publishing: no reason given" in command(live, "freeze", "U0ADMIN")
    assert live.store.freeze_state()["reason"] == "no reason given"  # frozen at once
    assert "unfroze publishing" in command(live, "unfreeze", "U0ADMIN")
    assert "froze all publishing: Breaking news" in command(live, "freeze Breaking news", "U0ADMIN")
    assert live.store.freeze_state()["by"] == "U0ADMIN"
    assert "unfroze publishing" in command(live, "unfreeze", "U0ADMIN")
    assert live.store.freeze_state() is None


def test_message_shortcut_turns_any_message_into_a_draft(live: Live):
    message = live.slack.post_user_message("C0ANNOUNCE", "U0LUCA", "Repost this, team")
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    delivery = live.sender.message_shortcut(
        "gl_send_for_approval", "U0AUTHOR", "C0ANNOUNCE", message.to_api()
    )
    assert delivery.status == 200
    (post_id,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    assert live.store.get(post_id).revision.text == "Repost this, team"
    assert live.eventually(lambda: live.card(post_id))
    # the author hears by DM, not in the thread of Luca's message in a public channel
    assert live.eventually(
        lambda: [m for m in live.slack.messages("U0AUTHOR") if f"#{post_id}" in m.text]
    )
    assert not [m for m in live.slack.messages("C0ANNOUNCE") if m.thread_ts == message.ts]
    live.sender.message_shortcut("gl_send_for_approval", "U0AUTHOR", "C0ANNOUNCE", message.to_api())
    assert live.eventually(
        lambda: [
            p
            for p in live.slack.response_url_posts()
            if f"already draft #{post_id}" in p.body.get("text", "")
        ]
    )


def test_drafts_from_messages_keep_the_text_as_typed(live: Live):
    """Slack sends a message's text with `&`, `<` and `>` escaped and its addresses made links;
    a draft posted, edited or sent for approval carries the text as typed, and is published
    so. (The markup went into the draft: a network would have published `Q&amp;A &lt;3`.)"""
    typed = "Q&A tonight <3 → https://www.acme.com/sale?a=1&b=2"
    post_id = live.draft(typed)
    assert live.store.get(post_id).revision.text == typed
    card = live.card(post_id)  # the text block shows it as typed; the mrkdwn fallback escaped
    assert typed in [b["text"]["text"] for b in card.blocks if b["type"] == "section"]
    assert card.text.endswith(": Q&amp;A tonight &lt;3 → https://www.acme.com/sale?a=1&amp;b=2")
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    brand_card = live.eventually(lambda: live.card(post_id, "U0BRAND"))
    assert live.sender.click("U0BRAND", "U0BRAND", brand_card.ts, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).state == PostState.PUBLISHED)
    (published,) = [m for m in live.slack.messages("C0ANNOUNCE") if "Q&amp;A" in m.text]
    assert typed_text(published.text) == typed

    edited_id = live.draft("Tonight at 9")
    edited = "Tonight at 9 & <3 https://www.acme.com"
    live.edit_intake(edited_id, as_slack_sends(edited))
    live.eventually(lambda: live.store.get(edited_id).revision.text == edited)

    message = live.slack.post_user_message("C0ANNOUNCE", "U0LUCA", typed)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    live.sender.message_shortcut("gl_send_for_approval", "U0AUTHOR", "C0ANNOUNCE", message.to_api())
    (shortcut,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    assert live.store.get(shortcut).revision.text == typed

    # A mention reads as the name the person shows in Slack, not their id.
    live.slack.add_user("U0GIULIA", "giulia")
    live.sender.event(
        {
            "type": "message",
            "channel": "C0DRAFTS",
            "user": "U0AUTHOR",
            "text": "Photos by <@U0GIULIA>, thank you!",
            "ts": "1999999999.000700",
            "event_ts": "1999999999.000700",
        }
    )
    credited = live.eventually(
        lambda: [
            p
            for p in live.store.get_many(live.store.ids_by_author("U0AUTHOR", limit=1000))
            if p.revision.text.startswith("Photos by")
        ]
    )
    assert [p.revision.text for p in credited] == ["Photos by @giulia, thank you!"]


def test_deleting_the_intake_message_withdraws_the_draft(live: Live):
    post_id = live.draft("Delete me")
    live.delete_intake(post_id)
    live.eventually(lambda: live.store.get(post_id).state == PostState.WITHDRAWN)
    assert live.eventually(lambda: live.card_says(post_id, "Withdrawn"))


def test_thread_replies_bot_messages_and_other_channels_are_not_drafts(live: Live):
    post_id = live.draft("A parent message")
    ts = live.store.get(post_id).source.ts
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    live.sender.user_message("U0AUTHOR", "C0DRAFTS", "a reply", thread_ts=ts)
    live.sender.user_message("U0AUTHOR", "C0ANNOUNCE", "not an intake channel")
    live.sender.event(
        {
            "type": "message",
            "channel": "C0DRAFTS",
            "bot_id": "B0OTHER",
            "text": "bot says hi",
            "ts": "1999999999.000300",
        }
    )
    live.sender.event(
        {
            "type": "message",
            "subtype": "channel_join",
            "channel": "C0DRAFTS",
            "user": "U0AUTHOR",
            "text": "joined",
            "ts": "1999999999.000400",
        }
    )
    marker = live.draft("A later draft")  # processed after the ones above
    assert set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before == {marker}


def test_slack_rate_limits_are_waited_out(live: Live):
    earlier = len(live.slack.calls("chat.postMessage"))
    live.slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    post_id = live.draft("Posted after a 429")
    assert live.card(post_id) is not None
    calls = live.slack.calls("chat.postMessage")[earlier:]
    # the emulator answers 429 again to a call inside the Retry-After window, as Slack does
    assert [c.status for c in calls[:2]] == [429, 200]


def test_a_missing_approvals_channel_is_reported_and_approvers_still_get_the_card(live: Live):
    live.slack.fail("chat.postMessage", "channel_not_found", times=1)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    live.sender.user_message("U0AUTHOR", "C0DRAFTS", "Where does my card go?")
    (post_id,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    warning = live.eventually(
        lambda: [m for m in live.slack.messages("C0DRAFTS") if "could not post the card" in m.text]
    )
    assert "channel_not_found" in warning[-1].text and f"#{post_id}" in warning[-1].text
    assert live.eventually(lambda: live.card(post_id, "U0ANNA"))
    assert live.store.get(post_id).state == PostState.IN_REVIEW


def test_a_card_refused_as_not_in_channel_is_posted_once_the_bot_joins(live: Live):
    """Slack's `not_in_channel` for the approvals channel: the worker joins it (a public
    channel) and posts the card there, once; nobody is told of a problem that was solved."""
    joins = len(live.slack.calls("conversations.join"))
    live.slack.fail("chat.postMessage", "not_in_channel", times=1)
    post_id = live.draft("Posted once the bot is in")
    assert len(live.slack.calls("conversations.join")) == joins + 1
    cards = [m for m in live.slack.messages("C0APPROVALS") if f"#{post_id} " in m.text]
    assert len(cards) == 1
    assert not [
        m
        for m in live.slack.messages("C0DRAFTS")
        if "could not post the card" in m.text and f"#{post_id}" in m.text
    ]


def test_app_home_shows_what_waits(live: Live):
    # Brand's queue, not Copy review's: earlier tests leave many drafts waiting for Anna, and
    # Home lists the oldest first, as many as fit.
    post_id = live.draft("Home sweet home")
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).current_step == 1)
    live.sender.event(
        {
            "type": "app_home_opened",
            "user": "U0BRAND",
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1999999999.000500",
        }
    )
    home = live.eventually(lambda: live.slack.home("U0BRAND"))
    text = str(home.payload)
    assert "Waiting for you" in text and f"*#{post_id}*" in text
    assert "Publishing is running" in text


def test_slack_server_errors_on_card_updates_are_retried(live: Live):
    post_id = live.draft("Updated through a 503")
    live.settle()
    earlier = len(live.slack.calls("chat.update"))
    live.slack.server_error("chat.update", times=2, status=503)
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    assert live.eventually(lambda: live.card_says(post_id, "<@U0ANNA> approved"))
    statuses = [c.status for c in live.slack.calls("chat.update")[earlier:]]
    assert statuses[:3] == [503, 503, 200]


def test_reschedule_an_approved_post_without_a_new_approval(live: Live):
    modal = open_draft_modal(live)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    values = {
        "text": {"text": {"type": "plain_text_input", "value": "Later, please"}},
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": 4102444800}},
    }
    assert live.sender.submit_view("U0AUTHOR", modal.id, values).status == 200
    (post_id,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    assert "Usage" in command(live, f"reschedule {post_id}", "U0AUTHOR")
    for user, step in (("U0ANNA", 0), ("U0BRAND", 1)):
        card = live.eventually(lambda u=user: live.card(post_id, u))
        live.sender.click(user, user, card.ts, "gl_approve")
        live.eventually(lambda s=step: live.store.get(post_id).current_step != s)
    assert live.eventually(lambda: live.store.get(post_id).state == PostState.SCHEDULED)
    assert "Write the time as" in command(live, f"reschedule {post_id} 1/12 9am", "U0AUTHOR")
    answer = command(live, f"reschedule {post_id} 2099-12-01 09:30", "U0AUTHOR")
    assert "goes out" in answer and "no new approval" in answer
    post = live.store.get(post_id)
    assert post.state == PostState.SCHEDULED and post.revision.number == 1
    assert post.revision.scheduled_at.year == 2099
    assert "Only the author" in command(live, f"reschedule {post_id} now", "U0LUCA")


def picked(date: str, time: str, zone: str = "UTC") -> dict:
    """The pickers' state as Slack submits it (the time picker reports its time zone)."""
    return {
        "date": {"date": {"type": "datepicker", "selected_date": date}},
        "time": {"time": {"type": "timepicker", "selected_time": time, "timezone": zone}},
    }


def approved_for_later(live: Live, text: str, at: int) -> str:
    """A draft written in the modal for Unix time `at`, approved through both steps."""
    modal = open_draft_modal(live)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    values = {
        "text": {"text": {"type": "plain_text_input", "value": text}},
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": at}},
    }
    assert live.sender.submit_view("U0AUTHOR", modal.id, values).status == 200
    (post_id,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    for user, step in (("U0ANNA", 0), ("U0BRAND", 1)):
        card = live.eventually(lambda u=user: live.card(post_id, u))
        live.sender.click(user, user, card.ts, "gl_approve")
        live.eventually(lambda s=step: live.store.get(post_id).current_step != s)
    return post_id


def test_scheduled_lists_posts_approved_for_a_later_time(live: Live):
    post_id = approved_for_later(live, "Out in two days", int(time.time()) + 2 * 86400)
    assert live.store.get(post_id).state == PostState.SCHEDULED
    assert f"*#{post_id}*" in command(live, "scheduled", "U0AUTHOR")


def test_reschedule_from_the_card_and_app_home_with_date_and_time_pickers(live: Live):
    post_id = approved_for_later(live, "Picked, not typed", 4102444800)
    assert live.eventually(lambda: live.card_says(post_id, '"action_id": "gl_reschedule"'))

    # Someone who may not move it is told so, privately; no modal opens for them.
    luca_modals = live.slack.modal_stack("U0LUCA")
    assert live.click("U0LUCA", post_id, "gl_reschedule").status == 200
    assert live.eventually(
        lambda: any(
            f"Only the author of post {post_id} or an admin" in t
            for t in live.private_replies("U0LUCA")
        )
    )
    assert live.slack.modal_stack("U0LUCA") == luca_modals

    # The author picks a date and a time; the engine's refusals show in the modal.
    modal = live.new_modal("U0AUTHOR", lambda: live.click("U0AUTHOR", post_id, "gl_reschedule"))
    inputs = {b["block_id"]: b["element"] for b in modal.payload["blocks"] if b.get("element")}
    assert inputs["date"]["initial_date"] == "2100-01-01"  # in the team's zone: UTC here
    assert (inputs["time"]["initial_time"], inputs["time"]["timezone"]) == ("00:00", "UTC")
    errors = live.sender.submit_view("U0AUTHOR", modal.id, picked("2020-01-01", "09:00")).json()
    assert errors["response_action"] == "errors"
    assert errors["errors"]["time"].startswith("Pick a time in the future")
    answer = live.sender.submit_view("U0AUTHOR", modal.id, picked("2099-12-25", "10:00")).json()
    assert answer["errors"]["time"] == "That time is in a blackout window: Christmas silence."
    rome = picked("2099-11-30", "10:00", "Europe/Rome")  # a zone the picker reports wins
    answer = live.sender.submit_view("U0AUTHOR", modal.id, rome)
    assert answer.status == 200 and not answer.text
    post = live.store.get(post_id)
    assert post.state == PostState.SCHEDULED and post.revision.number == 1  # no new approval
    assert post.revision.scheduled_at == datetime(2099, 11, 30, 9, 0, tzinfo=UTC)
    epoch = int(post.revision.scheduled_at.timestamp())
    assert live.eventually(lambda: live.card_says(post_id, f"<!date^{epoch}^"))

    # App Home lists it with its own Reschedule button, and is refreshed after the change.
    live.sender.event(
        {
            "type": "app_home_opened",
            "user": "U0AUTHOR",
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1999999999.000600",
        }
    )
    home = live.eventually(lambda: live.slack.home("U0AUTHOR"))
    buttons = [
        e
        for b in home.payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "gl_reschedule" and f'"p":"{post_id}"' in e["value"]
    ]
    # under "Your drafts" ("Going out next" looks a year ahead, and this one is in 2099)
    assert [b["text"]["text"] for b in buttons] == [f"Reschedule #{post_id}"]
    published = len(live.slack.calls("views.publish"))
    view = {"id": home.id, "type": "home"}
    modal = live.new_modal(
        "U0AUTHOR", lambda: live.sender.block_actions("U0AUTHOR", [buttons[0]], view=view)
    )
    answer = live.sender.submit_view("U0AUTHOR", modal.id, picked("2027-06-01", "08:30"))
    assert answer.status == 200 and not answer.text
    moved = live.store.get(post_id).revision.scheduled_at
    assert moved == datetime(2027, 6, 1, 8, 30, tzinfo=UTC)
    # The Home tab is published again: now within a year, it is also "Going out next".
    live.eventually(lambda: len(live.slack.calls("views.publish")) > published)
    home = live.slack.home("U0AUTHOR")
    assert str(home.payload).count(f"Reschedule #{post_id}") == 2
    history = [e["action"] for e in live.store.history(post_id)]
    assert history.count("reschedule") == 2 and history.count("approve") == 2

    # Slack failing the Home tab's refresh does not make the done change look failed.
    live.settle()
    live.slack.server_error("views.publish", times=None, status=503)
    try:
        modal = live.new_modal(
            "U0AUTHOR", lambda: live.sender.block_actions("U0AUTHOR", [buttons[0]], view=view)
        )
        answer = live.sender.submit_view("U0AUTHOR", modal.id, picked("2027-07-01", "08:30"))
        assert answer.status == 200 and not answer.text
        # the first try and the client's two retries
        live.eventually(
            lambda: len([c for c in live.slack.calls("views.publish") if not c.ok]) == 3
        )
        live.settle()
    finally:
        live.slack.clear_faults()
    moved = live.store.get(post_id).revision.scheduled_at
    assert moved == datetime(2027, 7, 1, 8, 30, tzinfo=UTC)
    assert not [m for m in live.slack.messages("U0AUTHOR") if "could not finish" in m.text]


def test_a_draft_the_rules_refuse_keeps_its_form_open_with_the_refusal_under_the_time(
    live: Live,
):
    """A time in a blackout window is refused by the engine in the acknowledgement: the form
    stays open with the reason under the time and the text as typed, and no draft exists.
    (The form closed, a DM said why, and the text was gone.)"""
    modal = open_draft_modal(live)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    christmas = int(datetime(2099, 12, 25, 10, tzinfo=UTC).timestamp())
    values = {
        "text": {"text": {"type": "plain_text_input", "value": "Merry Christmas, all of you"}},
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": christmas}},
    }
    answer = live.sender.submit_view("U0AUTHOR", modal.id, values).json()
    assert answer == {
        "response_action": "errors",
        "errors": {"schedule": "That time is in a blackout window: Christmas silence."},
    }
    assert modal.id in [view.id for view in live.slack.modal_stack("U0AUTHOR")]
    assert set(live.store.ids_by_author("U0AUTHOR", limit=1000)) == before


def test_deleting_the_message_of_a_post_past_withdrawing_tells_its_author(live: Live):
    """The draft was edited to go to X, approved, and failed to publish (the X channel does
    not exist): its author deletes the intake message. Too late to withdraw: the post stays
    as it is and the author is told why, instead of hearing nothing."""
    post_id = live.draft("Deleted too late")
    notice = live.request_changes(post_id, "Post it on X")
    edit = live.new_modal(
        "U0AUTHOR", lambda: live.sender.click("U0AUTHOR", "U0AUTHOR", notice.ts, "gl_edit_draft")
    )
    values = {
        "text": {"text": {"type": "plain_text_input", "value": "Deleted too late"}},
        "targets": {
            "targets": {"type": "multi_static_select", "selected_options": [{"value": "x"}]}
        },
    }
    assert live.sender.submit_view("U0AUTHOR", edit.id, values).status == 200
    live.eventually(lambda: live.store.get(post_id).revision.number == 2)
    live.eventually(lambda: live.card_says(post_id, "revision 2"))
    assert live.click("U0ANNA", post_id, "gl_approve").status == 200
    brand_card = live.eventually(lambda: live.card(post_id, "U0BRAND"))
    assert live.sender.click("U0BRAND", "U0BRAND", brand_card.ts, "gl_approve").status == 200
    live.eventually(lambda: live.store.get(post_id).state == PostState.FAILED)
    live.delete_intake(post_id)
    (told,) = live.eventually(
        lambda: [m for m in live.slack.messages("U0AUTHOR") if "did not stop it" in m.text]
    )
    assert "too late to withdraw" in told.text and f"/greenlight status {post_id}" in told.text
    assert live.store.get(post_id).state == PostState.FAILED


def test_status_shows_the_whole_text_the_card_cuts(live: Live):
    """A 35,000-character draft: the card shows the first 30,000 and sends readers to
    `/greenlight status`, which shows it all. (It showed the same cut card.)"""
    text = "".join(f"Paragraph {n}: " + "spring sale " * 120 + "\n" for n in range(24))[:35_000]
    post_id = live.draft(text)
    assert f"`/greenlight status {post_id}` shows the whole text" in rendered(live.card(post_id))
    body, _ = answer(live, f"status {post_id}")
    shown = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert text in "".join(shown)
    assert "not shown" not in json.dumps(body["blocks"])


def test_draft_prefills_the_form_with_the_text_as_typed(live: Live):
    """`/greenlight draft` with text prefills the form with it, line breaks kept, even when it
    holds the word "payload" (Bolt's parser read such a command as an empty click, and nothing
    happened)."""
    typed = "New payload launch &\nsecond line"
    modal = live.new_modal(
        "U0AUTHOR",
        lambda: live.sender.command(
            "/greenlight",
            as_slack_sends(f"draft {typed}"),  # the command is escaped, as the manifest asks
            user_id="U0AUTHOR",
            channel_id="C0DRAFTS",
        ),
    )
    (text,) = [
        b["element"]["initial_value"]
        for b in modal.payload["blocks"]
        if b.get("block_id") == "text"
    ]
    assert text == typed


def test_text_typed_after_draft_comes_back_when_slack_does_not_open_the_form(live: Live):
    """Slack refuses to open the draft form (its trigger expired while Slack was slow): the
    text typed after `/greenlight draft` comes back privately, to be copied, instead of being
    lost behind a generic "could not finish"."""
    typed = "Spring sale & more\nfrom May 1"
    live.settle()
    live.slack.fail("views.open", "expired_trigger_id", times=1)
    body, in_ack = answer(live, as_slack_sends(f"draft {typed}"), "U0AUTHOR")
    assert not in_ack
    shown = " ".join(b.get("text", {}).get("text", "") for b in body["blocks"])
    assert "did not open the draft form (expired_trigger_id)" in shown
    assert typed in shown and "Nothing was saved" in str(body["blocks"])
    assert live.slack.response_url_posts()[-1].status == 200  # Slack took it (valid blocks)


def test_a_message_with_files_is_not_made_a_draft_that_would_go_out_without_them(live: Live):
    """Drafts are text: a message with an image is not made one (its text would have been
    approved and published without the image, and nobody told), and its author is told why,
    in its thread; so is who sends such a message for approval."""
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    event = photo_message("1999999999.000500")
    for retry in (None, 1):  # Slack's retry of the same event is not answered twice
        live.sender.event(event, event_id="Ev0PHOTO", retry_num=retry)
    live.eventually(lambda: replies_under(live, event))
    live.settle()
    (reply,) = replies_under(live, event)
    assert "drafts are text only" in reply.text and "not a draft" in reply.text
    message = live.slack.post_user_message("C0ANNOUNCE", "U0LUCA", "With a photo").to_api()
    live.sender.message_shortcut(
        "gl_send_for_approval", "U0AUTHOR", "C0ANNOUNCE", {**message, "files": event["files"]}
    )
    assert live.eventually(
        lambda: [t for t in live.private_replies("U0AUTHOR") if "drafts are text only" in t]
    )
    assert set(live.store.ids_by_author("U0AUTHOR", limit=1000)) == before


def test_an_answer_under_an_intake_message_that_slack_failed_is_made_on_its_retry(live: Live):
    """Slack fails the answer under a message with a photo; Slack's retry of the event
    answers it then. (The answer was counted as made before it was posted, so the retry said
    nothing.)"""
    event = photo_message("1999999999.000600")

    def failures() -> list[Message]:
        return [m for m in live.slack.messages("U0AUTHOR") if "could not handle" in m.text]

    live.settle()
    told = len(failures())
    live.slack.fail("chat.postMessage", "internal_error", times=1)
    live.sender.event(event, event_id="Ev0PHOTO2")
    live.eventually(lambda: len(failures()) > told)  # the author is told it went wrong
    assert replies_under(live, event) == []
    live.sender.event(event, event_id="Ev0PHOTO2", retry_num=1)
    (reply,) = live.eventually(lambda: replies_under(live, event))
    assert "drafts are text only" in reply.text


def photo_message(ts: str) -> dict:
    """A message event in the intake channel with an image attached."""
    return {
        "type": "message",
        "subtype": "file_share",
        "channel": "C0DRAFTS",
        "user": "U0AUTHOR",
        "text": "Our launch, in one picture",
        "files": [{"id": "F0PHOTO", "name": "launch.png", "mimetype": "image/png"}],
        "ts": ts,
        "event_ts": ts,
    }


def replies_under(live: Live, event: dict) -> list[Message]:
    return [m for m in live.slack.messages(event["channel"]) if m.thread_ts == event["ts"]]


def test_deleting_an_intake_message_with_replies_withdraws_the_draft(live: Live):
    """Greenlight replies under every intake draft, so a deleted draft message has replies:
    Slack keeps it as a tombstone and sends `message_changed`, not `message_deleted`. (It was
    taken for an edit by Slackbot, refused, and the draft stayed in review.)"""
    post_id = live.draft("Delete me, replies and all")
    ts = live.store.get(post_id).source.ts
    live.sender.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": "C0DRAFTS",
            "ts": "1999999999.000600",
            "event_ts": "1999999999.000600",
            "message": {
                "type": "message",
                "subtype": "tombstone",
                "user": "USLACKBOT",
                "text": "This message was deleted.",
                "hidden": True,
                "ts": ts,
                "thread_ts": ts,
                "reply_count": 1,
            },
            "previous_message": {
                "type": "message",
                "user": "U0AUTHOR",
                "text": "Delete me, replies and all",
                "ts": ts,
                "thread_ts": ts,
                "reply_count": 1,
            },
        }
    )
    live.eventually(lambda: live.store.get(post_id).state == PostState.WITHDRAWN)
    assert live.eventually(lambda: live.card_says(post_id, "Withdrawn"))
