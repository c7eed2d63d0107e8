"""The `greenlight` command line: run, validate."""

from __future__ import annotations

import argparse
import sys

from bot import check_command
from bot.settings import SettingsError, load_settings


def _run(args: argparse.Namespace) -> int:
    try:
        load_settings(require_config=True, require_slack=True)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        "greenlight run: the Slack app (HTTP and Socket Mode server) is not built yet; "
        "settings are valid. See README.md, 'Status'.",
        file=sys.stderr,
    )
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenlight", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the Slack app")
    run.set_defaults(handler=_run)
    check_command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
