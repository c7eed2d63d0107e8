"""Fixtures: an emulated workspace on a real HTTP port, a WebClient pointed at it, a clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.workspace import Workspace

START = 1_790_000_000.0


class Clock:
    """Unix time that only moves when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def build_workspace() -> Workspace:
    ws = Workspace()
    ws.add_team("T0ACME", name="Acme", domain="acme", bot_token="xoxb-acme")
    ws.add_user("U0ANNA", "anna", tz="Europe/Rome", tz_offset=3600)
    ws.add_user("U0LUCA", "luca", tz="America/New_York", tz_offset=-18000)
    ws.add_user("U0GONE", "gone", deleted=True)
    ws.add_usergroup("S0EDITORS", ["U0ANNA", "U0LUCA"], handle="editors")
    ws.add_channel("C0DRAFTS", "drafts", members=["U0ANNA", "U0LUCA"])
    ws.add_channel("C0QUIET", "quiet", members=["U0ANNA"], bot_member=False)
    ws.add_channel("C0OLD", "old", members=["U0ANNA"], is_archived=True)
    ws.add_channel("C0SECRET", "secret", members=["U0ANNA"], bot_member=False, is_private=True)
    return ws


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def slack(clock: Clock) -> Iterator[SlackEmulator]:
    with SlackEmulator(build_workspace(), clock=clock) as emulator:
        yield emulator


@pytest.fixture
def web(slack: SlackEmulator) -> WebClient:
    """The bot's client, exactly as production builds it but for the base URL."""
    return WebClient(token="xoxb-acme", base_url=slack.api_url)
