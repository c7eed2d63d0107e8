"""The `greenlight` command line: run, validate, check."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

import redis

from bot import check_command
from bot.settings import Settings, SettingsError, load_settings
from workflows.configfile import ConfigError, load_workflow_file


def _start_up_problem(exc: Exception, redis_url: str | None) -> int:
    """Print why the process cannot start, in words an operator can act on; exit code 2."""
    from bot.publishers import MissingSecret

    if isinstance(exc, SettingsError):
        print(exc, file=sys.stderr)
        print("Copy .env.example to .env and fill it in (README: Configuration).", file=sys.stderr)
    elif isinstance(exc, ConfigError):
        print(f"The workflow file has problems:\n{exc}", file=sys.stderr)
    elif isinstance(exc, MissingSecret):
        print(f"Cannot publish: {exc}", file=sys.stderr)
    else:
        print(f"Redis at {redis_url} does not answer: {exc}", file=sys.stderr)
    return 2


_START_UP_ERRORS = (SettingsError, ConfigError, redis.RedisError)


def _run(args: argparse.Namespace) -> int:
    """Check everything a start needs, then serve: Socket Mode with an app token, else HTTP."""
    settings = None
    try:
        settings = load_settings(require_config=True, serves_slack=True)
        load_workflow_file(settings.config_path)  # type: ignore[arg-type]
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2).ping()
    except _START_UP_ERRORS as exc:
        return _start_up_problem(exc, settings and settings.redis_url)
    logging.basicConfig(level=settings.log_level.upper())
    if settings.slack_app_token:
        return _serve_socket_mode(settings)
    from bot.server import GunicornServer

    GunicornServer(settings).run()
    return 0


#: What apps.connections.open answers when the app-level token itself is the problem.
_APP_TOKEN_ERRORS = frozenset(
    {"not_authed", "invalid_auth", "not_allowed_token_type", "missing_scope", "token_revoked"}
)


def _serve_socket_mode(settings: Settings) -> int:
    """Connect out to Slack over Socket Mode and serve until stopped. When Slack will not open
    a connection (the usual cause: a wrong or revoked app-level token), say so; exit code 2."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import DEFAULT_API_URL, build_app, load_greenlight
    from bot.runtime import started

    try:
        app = build_app(load_greenlight(settings))  # Bolt checks the bot token (auth.test)
    except BoltError as exc:
        print(f"Slack refused SLACK_BOT_TOKEN: {exc}", file=sys.stderr)
        return 2
    handler = SocketModeHandler(app, settings.slack_app_token)
    started()
    try:
        handler.start()  # apps.connections.open, then the WebSocket; returns only by raising
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in _APP_TOKEN_ERRORS:
            print(
                f"Slack refused SLACK_APP_TOKEN (apps.connections.open: {error}). Create an "
                "app-level token with the connections:write scope under Basic Information → "
                "App-Level Tokens, put it in SLACK_APP_TOKEN, or unset SLACK_APP_TOKEN to serve "
                "HTTP (README: Set up the Slack app).",
                file=sys.stderr,
            )
        else:
            print(f"Slack could not open a Socket Mode connection: {error}.", file=sys.stderr)
    except OSError as exc:
        url = settings.slack_api_url or DEFAULT_API_URL
        print(f"Cannot reach the Slack API at {url}: {exc}", file=sys.stderr)
    finally:
        handler.close()
    return 2


def _worker(args: argparse.Namespace) -> int:
    """Publish due posts, update cards, send reminders, escalations and digests until
    SIGTERM."""
    from bot.app import load_greenlight, slack_client
    from bot.digest import digest_jobs
    from bot.publishers import MissingSecret
    from bot.reminders import reminders_job
    from bot.runtime import started
    from bot.worker import Worker, build_publishers, notifier

    settings = None
    try:
        settings = load_settings(require_config=True, require_slack=True)
        gl = load_greenlight(settings)
        publishers = build_publishers(gl.config, settings)
        gl.redis.ping()
    except (*_START_UP_ERRORS, MissingSecret) as exc:
        return _start_up_problem(exc, settings and settings.redis_url)
    logging.basicConfig(level=settings.log_level.upper())
    name, client = f"{socket.gethostname()}-{os.getpid()}", slack_client(settings)
    worker = Worker(
        gl.redis,
        gl.config,
        publishers,
        notify=notifier(gl, client),
        jobs=[reminders_job(gl, client), *digest_jobs(gl, client, name)],
        name=name,
        lease_seconds=args.lease_seconds,
        poll_seconds=args.poll_seconds,
    )
    worker.stop_on_signals()
    started()
    worker.run()
    return 0


def _validate(args: argparse.Namespace) -> int:
    try:
        config = load_workflow_file(args.file)
    except ConfigError as exc:
        count = len(exc.problems)
        print(exc, file=sys.stderr)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}.", file=sys.stderr)
        return 2
    steps = sum(len(w.steps) for w in config.workflows)
    print(
        f"{args.file}: OK ({len(config.workflows)} workflow(s), {steps} step(s), "
        f"{len(config.targets)} target(s))."
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenlight", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the Slack app")
    run.set_defaults(handler=_run)
    worker = sub.add_parser("worker", help="publish approved posts when they are due")
    worker.add_argument(
        "--lease-seconds",
        type=float,
        default=60.0,
        help="how long a claim lasts before another worker may take it over (default 60)",
    )
    worker.add_argument(
        "--poll-seconds", type=float, default=0.5, help="pause when nothing is due (default 0.5)"
    )
    worker.set_defaults(handler=_worker)
    validate = sub.add_parser("validate", help="check a workflow file and list every problem")
    validate.add_argument("file", help="the workflow YAML file")
    validate.set_defaults(handler=_validate)
    check_command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
