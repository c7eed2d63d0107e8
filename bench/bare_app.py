"""The floor for `bench/ack.py`: a Bolt app that only acks, behind Bolt's WSGI adapter.

    python -m gunicorn bench.bare_app:app -k gthread --workers 2 --threads 8 -b 127.0.0.1:3001

Same Bolt, same signature check (SLACK_SIGNING_SECRET), same Slack client set-up as Greenlight
(SLACK_BOT_TOKEN against SLACK_API_URL, the emulator), same `process_before_response=True` (the
listener runs in the request thread; the response leaves when it returns); every slash command
and every button click gets an empty 200 and nothing else happens.
`GET /healthz` answers without Bolt, so the benchmark can wait for the server to come up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

ANYTHING = re.compile(".+")


def build_bare_app() -> App:
    client = WebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL") or "https://slack.com/api/",
    )
    bolt = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    def only_ack(ack: Ack) -> None:
        ack()

    bolt.command(ANYTHING)(only_ack)
    bolt.action(ANYTHING)(only_ack)
    return bolt


def create_wsgi_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    slack = SlackRequestHandler(build_bare_app())

    def application(environ: dict[str, Any], start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"up"]
        return slack(environ, start_response)

    return application


app = create_wsgi_app()
