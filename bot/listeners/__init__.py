"""Slack listeners, split by kind like the Bolt starter template; each module's `register`
wires plain functions that ack, call the engine, and hand rendering to `bot.views`. What calls
Slack runs after the acknowledgement (`after_ack`)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, shortcuts, views
from bot.runtime import Greenlight


def register(app: App, gl: Greenlight) -> None:
    # Bolt tries listeners in the order they were added, and trying one costs about 30 µs:
    # the most frequent requests (`/greenlight`, Approve) come first.
    for module in (commands, actions, views, events, shortcuts):
        module.register(app, gl)
