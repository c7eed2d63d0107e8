"""Process settings from the environment (a `.env` file in development, via python-dotenv).

Every problem is collected and reported at once, so an operator fixes a deployment in one go.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import load_dotenv
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class SettingsError(Exception):
    """Raised with every problem found in the environment, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    redis_url: str = Field(DEFAULT_REDIS_URL, alias="REDIS_URL")
    config_path: Path | None = Field(None, alias="GREENLIGHT_CONFIG")
    slack_bot_token: str | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(None, alias="SLACK_API_URL")
    port: int = Field(3000, alias="PORT", ge=1, le=65535)
    web_concurrency: int = Field(2, alias="WEB_CONCURRENCY", ge=1, le=64)
    gunicorn_threads: int = Field(8, alias="GUNICORN_THREADS", ge=1, le=256)
    log_level: str = Field("info", alias="LOG_LEVEL", pattern="(?i)^(debug|info|warning|error)$")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    require_config: bool = False,
    require_slack: bool = False,
    serves_slack: bool = False,
    dotenv: bool = True,
) -> Settings:
    """Read settings; raise SettingsError listing every problem at once. `require_slack`: the
    bot token (the Web API); `serves_slack`: also the signing secret, unless SLACK_APP_TOKEN
    makes it Socket Mode (requests then come over the app's own connection, not signed)."""
    if environ is None:
        if dotenv:
            load_dotenv(override=False)
        environ = os.environ
    raw = {k: v for k, v in environ.items() if v != ""}
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.model_validate({k: raw[k] for k in _ENV_NAMES if k in raw})
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{name}: {_plain(err['msg'])} (got {raw.get(name)!r})")
    if require_config:
        path = raw.get("GREENLIGHT_CONFIG")
        if not path:
            problems.append("GREENLIGHT_CONFIG: not set; point it at your workflow file")
        elif not Path(path).is_file():
            problems.append(f"GREENLIGHT_CONFIG: no file at {path}")
    needed = []
    if require_slack or serves_slack:
        needed.append(
            ("SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-...) from OAuth & Permissions")
        )
    if serves_slack and not raw.get("SLACK_APP_TOKEN"):
        needed.append(
            (
                "SLACK_SIGNING_SECRET",
                "the Signing Secret from Basic Information "
                "(or set SLACK_APP_TOKEN for Socket Mode)",
            )
        )
    for name, hint in needed:
        if not raw.get(name):
            problems.append(f"{name}: not set; copy {hint}")
    if problems:
        raise SettingsError(problems)
    assert settings is not None
    return settings


def _plain(msg: str) -> str:
    return msg.removeprefix("Value error, ")


_ENV_NAMES = tuple(
    field.alias for field in Settings.model_fields.values() if field.alias is not None
)
