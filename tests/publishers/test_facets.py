"""What becomes a link, a mention or a hashtag in a Bluesky post."""

from __future__ import annotations

from bot.publishers.facets import spans


def shown(text: str) -> list[tuple[str, str, str]]:
    return [(s.kind, text[s.start : s.end], s.value) for s in spans(text)]


def test_links_mentions_and_tags_in_order():
    text = "Nuovo menù da @Acme.bsky.social #autunno: https://acme.example/a?b=1#c."
    assert shown(text) == [
        ("mention", "@Acme.bsky.social", "acme.bsky.social"),
        ("tag", "#autunno", "autunno"),
        ("link", "https://acme.example/a?b=1#c", "https://acme.example/a?b=1#c"),
    ]


def test_emails_numbers_and_fragments_are_not_facets():
    text = "Scrivi a info@acme.example, siamo #1 e https://x.example/#ancora (vedi https://x.example/p_(1))"
    assert shown(text) == [
        ("link", "https://x.example/#ancora", "https://x.example/#ancora"),
        ("link", "https://x.example/p_(1)", "https://x.example/p_(1)"),
    ]


def test_tags_take_accents_and_stop_at_punctuation():
    assert shown("Evviva #Città2026! e #perché?") == [
        ("tag", "#Città2026", "Città2026"),
        ("tag", "#perché", "perché"),
    ]
