"""Slack's HTTP request bodies, decoded as Bolt decodes them, but without its pure-Python loop.

Interactivity (button clicks, modal submissions) arrives form-encoded: `payload=` and the JSON
payload percent-encoded, which for a click on an approval card is about 4 KB with ~800 escapes
(the card comes back with the click). Bolt decodes it with `urllib.parse.parse_qsl`, whose
`unquote` walks the escapes one by one in Python: about half the CPU Bolt spends on such a
request, before any listener runs. `unquote_plus` below does the same decoding with str methods
and the standard `unicode_escape` codec, all in C, and hands anything unusual (non-ASCII text,
a malformed escape) to the standard library, so the result is the standard library's in every
case. `FastBoltRequest` is a `BoltRequest` built with it; the HTTP server builds one for every
request it receives (signature checks read the raw body, which is kept as received), and the
copy Bolt makes for a lazy listener (the work after an acknowledgement) is decoded the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus as _stdlib_unquote_plus

from slack_bolt import BoltContext, BoltRequest
from slack_bolt.request.internals import build_context


def unquote_plus(text: str) -> str:
    """`urllib.parse.unquote_plus(text)` (UTF-8, undecodable bytes replaced), in C: each `%XX`
    becomes `\\xXX` (backslashes doubled first, so nothing else is an escape), which the
    `unicode_escape` codec turns into that byte (as a Latin-1 character, hence the round trip
    through Latin-1 before the UTF-8 decoding)."""
    if "%" not in text:
        return text.replace("+", " ")
    if not text.isascii():
        return _stdlib_unquote_plus(text)
    escaped = text.replace("\\", "\\\\").replace("%", "\\x").replace("+", " ")
    try:
        raw = escaped.encode("ascii").decode("unicode_escape")
    except UnicodeDecodeError:  # a `%` without two hex digits: kept as is, as urllib does
        return _stdlib_unquote_plus(text)
    return raw.encode("latin-1").decode("utf-8", "replace")


def parse_form(body: str) -> dict[str, str]:
    """`dict(urllib.parse.parse_qsl(body, keep_blank_values=True))`."""
    fields: dict[str, str] = {}
    for pair in body.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            fields[unquote_plus(name)] = unquote_plus(value)
    return fields


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    """What `slack_bolt.request.internals.parse_body` returns for the same body, except that a
    slash command whose text (or channel name...) holds the word "payload" stays a command:
    Bolt's looks for the word anywhere in the body and reads such a command as an empty
    interaction."""
    if not body:
        return {}
    if content_type == "application/json" or body.startswith("{"):
        return json.loads(body)
    fields = parse_form(body)
    if "payload" in fields:  # interactivity: the JSON is the `payload` field
        return json.loads(fields["payload"])
    return fields  # a slash command


class FastBoltRequest(BoltRequest):
    """A `BoltRequest` over HTTP whose body is decoded by `parse_body` above."""

    def __init__(
        self,
        *,
        body: str,
        query: str | dict[str, Sequence[str]],
        headers: Mapping[str, str | Sequence[str]],
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(body="", query=query, headers=dict(headers))
        self.raw_body = body
        self.body = parse_body(body, self.content_type)
        self.context = build_context(BoltContext(context or {}), self.body)

    def to_copyable(self) -> FastBoltRequest:
        """What `BoltRequest.to_copyable` makes (Bolt copies the request for a lazy listener),
        decoded here as well instead of by Bolt's parser."""
        return FastBoltRequest(
            body=self.raw_body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
        )
