"""`/greenlight away` and `back`, a delegate deciding for an away approver, and the urgent
checkbox, end to end through `greenlight run`."""

from __future__ import annotations

from tests.bot.conftest import Live, rendered
from tests.bot.test_e2e_commands import command, open_draft_modal
from workflows.models import PostState


def test_a_delegate_decides_while_the_approver_is_away_until_back(live: Live):
    assert "You are not away" in command(live, "away", "U0LUCA")
    assert "Usage" in command(live, "away next week", "U0LUCA")
    assert "Write the date as" in command(live, "away until 20/08/2099", "U0LUCA")
    assert "already ended" in command(live, "away until 2001-01-01", "U0LUCA")
    assert "someone else" in command(live, "away until 2099-12-31 delegate <@U0LUCA>", "U0LUCA")
    answer = command(live, "away until 2099-12-31 delegate <@U0LEGAL|legal>", "U0LUCA")
    try:
        assert "away until the end of 2099-12-31" in answer and "<@U0LEGAL> may decide" in answer
        assert "<@U0LEGAL> may decide" in command(live, "away", "U0LUCA")
        post_id = live.draft("Decided by a delegate")
        assert live.click("U0LEGAL", post_id, "gl_approve").status == 200
        live.eventually(lambda: live.store.get(post_id).current_step == 1)
        assert live.eventually(lambda: live.card_says(post_id, "<@U0LEGAL> approved for <@U0LUCA>"))
        entry = next(e for e in live.store.history(post_id) if e["action"] == "approve")
        assert (entry["actor"], entry["for"]) == ("U0LEGAL", "U0LUCA")
        assert "<@U0LEGAL> for <@U0LUCA> · approve" in command(live, f"history {post_id}")
    finally:
        assert "Welcome back" in command(live, "back", "U0LUCA")
    assert "You were not away" in command(live, "back", "U0LUCA")
    post_id = live.draft("Not for the delegate any more")
    assert live.click("U0LEGAL", post_id, "gl_approve").status == 200
    assert live.eventually(
        lambda: [
            p
            for p in live.slack.response_url_posts()
            if f"Post {post_id} waits for step “Copy review”" in p.body.get("text", "")
        ]
    )
    assert live.store.get(post_id).steps[0].votes == []


def test_an_urgent_draft_says_so_on_its_card(live: Live):
    modal = open_draft_modal(live)
    assert "Urgent: reminders and escalations ignore quiet hours" in str(modal.payload)
    before = set(live.store.ids_by_author("U0AUTHOR", limit=1000))
    values = {
        "text": {"text": {"type": "plain_text_input", "value": "We know about the outage"}},
        "urgent": {"urgent": {"type": "checkboxes", "selected_options": [{"value": "urgent"}]}},
    }
    assert live.sender.submit_view("U0AUTHOR", modal.id, values).status == 200
    (post_id,) = live.eventually(
        lambda: set(live.store.ids_by_author("U0AUTHOR", limit=1000)) - before
    )
    post = live.store.get(post_id)
    assert post.revision.urgent and post.state == PostState.IN_REVIEW
    card = live.eventually(lambda: live.card(post_id))
    assert ":rotating_light: *Urgent*" in rendered(card)
