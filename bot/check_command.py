"""`greenlight check`: run the risk warnings on a draft from the command line or CI.

Exit codes: 0 when the draft is below `--fail-on` (or no `--fail-on` was given), 1 when it is
at that level or above, 2 on bad input (unreadable config, empty text, invalid UTF-8).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml
from pydantic import ValidationError

from workflows.risk import PLATFORMS, RiskConfig, RiskReport, at_least, check


class InputError(Exception):
    """Bad input from the user: printed on stderr, exit code 2."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the `check` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="run the risk warnings on a draft",
        description="Run the risk warnings on a draft. Exit 1 at --fail-on or above, 2 on "
        "bad input, else 0.",
    )
    parser.add_argument("--config", metavar="FILE", help="workflow YAML file (its risk: key)")
    parser.add_argument("--platform", choices=PLATFORMS, help="apply this platform's length rules")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--fail-on",
        choices=("low", "medium", "high"),
        metavar="LEVEL",
        help="exit 1 when the draft's risk is LEVEL (low, medium, high) or above",
    )
    parser.add_argument("text", nargs="?", default="-", help="the draft, or - to read stdin")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config) if args.config else None
        text = read_text(args.text)
    except InputError as exc:
        print(f"greenlight check: {exc}", file=sys.stderr)
        return 2
    report = check(text, args.platform, config)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        print(render(text, report, colour=colour))
    if args.fail_on and at_least(report.severity, args.fail_on):
        return 1
    return 0


def load_config(path: str) -> RiskConfig:
    """Read the workflow file and validate its `risk:` section."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read config {path}: {exc}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InputError(f"config {path} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"config {path} must be a YAML mapping with a risk: key")
    try:
        return RiskConfig.model_validate(data.get("risk") or {})
    except ValidationError as exc:
        problems = "\n".join(
            f"  - risk.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise InputError(f"invalid risk settings in {path}:\n{problems}") from exc


def read_text(value: str) -> str:
    if value == "-":
        if sys.stdin.isatty():
            print("Type or paste the draft, then Ctrl-D.", file=sys.stderr)
        try:
            text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"standard input is not valid UTF-8 ({exc.reason})") from exc
    else:
        text = value
    if not text.strip():
        raise InputError("the draft is empty; pass the text, or - to read it from stdin")
    return text


_COLOURS = {"high": "\033[1;31m", "medium": "\033[1;33m", "low": "\033[1;36m"}
_RESET = "\033[0m"


def render(text: str, report: RiskReport, colour: bool = False) -> str:
    """Human-readable report: each finding with its line, the risky part between » «.

    With `colour` (a terminal, and NO_COLOR unset) the risky part is also coloured by severity.
    """
    if not report.findings:
        return "Risk: none. No warnings."
    count = len(report.findings)
    lines = [f"Risk: {report.severity} ({count} warning{'s' if count > 1 else ''})"]
    for finding in report.findings:
        line_start = text.rfind("\n", 0, finding.start) + 1
        line_end = text.find("\n", finding.end)
        line_end = len(text) if line_end == -1 else line_end
        line_no = text.count("\n", 0, finding.start) + 1
        on, off = (_COLOURS[finding.severity], _RESET) if colour else ("", "")
        excerpt = finding.excerpt
        if len(excerpt) > 100:
            excerpt = excerpt[:60] + " … " + excerpt[-30:]
        before = text[line_start : finding.start]
        after = text[finding.end : line_end]
        context = (
            ("…" + before[-60:] if len(before) > 60 else before)
            + f"»{on}{excerpt}{off}«"
            + (after[:60] + "…" if len(after) > 60 else after)
        ).replace("\n", " ⏎ ")
        lines.append(
            f"\n[{finding.severity.upper()}] {finding.category} "
            f"(line {line_no}, chars {finding.start}-{finding.end}, rule {finding.rule})"
        )
        lines.append(f"  {context}")
        lines.append(f"  {finding.message}")
    return "\n".join(lines)
