"""`python -m bot.sandbox.emulator` runs a standalone emulator the bot can be pointed at."""

from __future__ import annotations

import subprocess
import sys

from slack_sdk import WebClient


def test_standalone_emulator_prints_url_and_token() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.sandbox.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        settings = dict(process.stdout.readline().strip().split("=", 1) for _ in range(2))
        client = WebClient(token=settings["SLACK_BOT_TOKEN"], base_url=settings["SLACK_API_URL"])
        assert client.auth_test()["user_id"] == "U0GREENLIGHT"
        assert client.conversations_info(channel="C0DRAFTS")["channel"]["name"] == "drafts"
    finally:
        process.terminate()
        process.wait(timeout=10)
