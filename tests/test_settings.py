import pytest

from bot.settings import DEFAULT_REDIS_URL, SettingsError, load_settings


def test_defaults_apply_when_nothing_is_set():
    settings = load_settings({})
    assert settings.redis_url == DEFAULT_REDIS_URL
    assert settings.port == 3000


def test_every_problem_is_reported_at_once(tmp_path):
    env = {
        "REDIS_URL": "http://nope",
        "PORT": "99999",
        "SLACK_BOT_TOKEN": "xoxp-user-token",
        "GREENLIGHT_CONFIG": str(tmp_path / "missing.yaml"),
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env, require_config=True, serves_slack=True)
    text = str(caught.value)
    for name in (
        "REDIS_URL",
        "PORT",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "GREENLIGHT_CONFIG",
    ):
        assert name in text
    assert len(caught.value.problems) == 5


def test_slack_api_url_gets_a_trailing_slash():
    settings = load_settings({"SLACK_API_URL": "http://127.0.0.1:9000/api"})
    assert settings.slack_api_url == "http://127.0.0.1:9000/api/"


def test_the_signing_secret_is_needed_only_to_serve_slack_over_http():
    env = {"SLACK_BOT_TOKEN": "xoxb-1"}
    with pytest.raises(SettingsError) as caught:
        load_settings(env, serves_slack=True)  # `greenlight run` in HTTP mode
    assert caught.value.problems == [
        "SLACK_SIGNING_SECRET: not set; copy the Signing Secret from Basic Information "
        "(or set SLACK_APP_TOKEN for Socket Mode)"
    ]
    socket_mode = load_settings({**env, "SLACK_APP_TOKEN": "xapp-1"}, serves_slack=True)
    assert socket_mode.slack_app_token == "xapp-1" and socket_mode.slack_signing_secret is None
    assert load_settings(env, require_slack=True).slack_signing_secret is None  # the worker
