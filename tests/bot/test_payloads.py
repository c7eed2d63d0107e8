"""What Slack sends, read back as the person wrote it."""

from __future__ import annotations

from bot.payloads import typed_text


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
