"""Slack listeners, split by kind like the Bolt starter template; each module's `register`
wires plain functions that ack, call the engine, and hand rendering to `bot.views`. What calls
Slack runs after the acknowledgement (`after_ack`)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events, shortcuts, views
from bot.runtime import Greenlight


def register(app: App, gl: Greenlight) -> None:
    for module in (actions, commands, events, shortcuts, views):
        module.register(app, gl)
