"""What Slack sends, read back as the person wrote it."""

from __future__ import annotations

from bot.payloads import typed_text
from bot.sandbox.payloads import as_slack_sends


def test_escaped_command_text_reads_as_typed():
    escaped = (
        "Meet <@U0ANNA|anna> in <#C0SOCIAL|social>, ask <!subteam^S0ED|@editors> or <!here>: "
        "<https://example.com/sale|example.com/sale> &amp; <mailto:a@b.it|a@b.it> &lt;3"
    )
    assert typed_text(escaped) == (
        "Meet @anna in #social, ask @editors or @here: example.com/sale & a@b.it <3"
    )
    assert typed_text("<@U0ANNA>") == "@U0ANNA"
    assert typed_text("plain text, no markup") == "plain text, no markup"


def test_a_chat_message_reads_as_typed():
    """What a person types in a message reaches the app escaped, with its addresses linked
    (`as_slack_sends`, as Slack sends it): read back, it is the same text again."""
    for typed in (
        "Q&A tonight: 2 < 3 & 5 > 4 <3",
        "Sale → https://shop.example/sale?a=1&b=2, ends Monday",
        "&amp; stays &amp;, &lt; stays &lt;",
        "Plain words 🌸",
    ):
        assert typed_text(as_slack_sends(typed)) == typed


def test_a_link_made_with_slacks_link_button_keeps_its_address():
    assert typed_text("See <https://shop.example/sale|our sale>!") == (
        "See our sale (https://shop.example/sale)!"
    )
    assert typed_text("<http://shop.example|shop.example>") == "shop.example"
    assert typed_text("<https://shop.example/?a=1&amp;b=2>") == "https://shop.example/?a=1&b=2"
    assert typed_text("Live <!date^1767261600^{date_short} at {time}|Jan 1st at 10:00>") == (
        "Live Jan 1st at 10:00"
    )


def test_a_mention_in_a_chat_message_reads_as_the_name_shown_in_slack():
    """Chat messages carry mentions without a label: the draft says `@giulia`, not the id."""
    names = {"U0GIULIA": "giulia"}.get
    assert typed_text("Thanks <@U0GIULIA> and <@U0GONE>!", names) == ("Thanks @giulia and @U0GONE!")
    assert typed_text("Ask <@U0GIULIA|giu>", names) == "Ask @giu"  # a command's own label
