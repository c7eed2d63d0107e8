"""Workflow files: good ones load, broken ones say exactly where and what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workflows.configfile import ConfigError, load_workflow_file, parse_workflow_file

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "workflow.yaml"

GOOD = """\
approvals_channel: C0APPROVALS
targets:
  site: {type: slack, channel: C0SITE}
workflows:
  - name: standard
    targets: [site]
    steps:
      - name: Copy review
        approvers: {users: [U0A, U0B]}
        quorum: 2
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_workflow_file(text, "flow.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_documented_example_loads():
    config = load_workflow_file(EXAMPLE)
    assert config.timezone == "Europe/Rome"
    assert [s.quorum for s in config.workflows[0].steps] == [1, 1, "all"]
    assert config.workflows[0].steps[2].when.risk_at_least == "high"


def test_yaml_syntax_error_names_file_and_line():
    assert problems(GOOD + "  - name: [unclosed\n") == [
        "flow.yaml:12: YAML syntax error: expected ',' or ']', but got '<stream end>'"
    ]


def test_typo_in_a_key_is_an_error_with_the_path_and_the_right_spellings():
    found = problems(GOOD.replace("quorum: 2", "quorom: 2"))
    assert found == [
        "flow.yaml:10: workflows[0].steps[0].quorom: unknown key 'quorom' "
        "(allowed here: name, approvers, quorum, when, channel, remind_after, remind_every, "
        "escalate_after, escalate_to)"
    ]


def test_wrong_types_and_bad_values_are_all_reported_at_once():
    text = (
        GOOD.replace("quorum: 2", "quorum: many")
        .replace(
            "approvals_channel: C0APPROVALS", "approvals_channel: C0APPROVALS\ntimezone: Mars/Base"
        )
        .replace("name: standard", "name: [standard]")
    )
    found = problems(text)
    assert found == [
        "flow.yaml:2: timezone: 'Mars/Base' is not an IANA time zone name such as Europe/Rome",
        "flow.yaml:6: workflows[0].name: input should be a valid string, got ['standard']",
        'flow.yaml:11: workflows[0].steps[0].quorum: must be a whole number of approvals or "all", '
        "not 'many'",
    ]


def test_empty_steps_unknown_targets_and_impossible_quorum():
    text = GOOD.replace("targets: [site]", "targets: [site, tiktok]").replace(
        "quorum: 2", "quorum: 3"
    )
    text += "  - name: empty\n    steps: []\n"
    assert problems(text) == [
        "flow.yaml:6: workflows[0].targets[1]: unknown target 'tiktok' (defined targets: site)",
        "flow.yaml:10: workflows[0].steps[0].quorum: quorum 3 is larger than the 2 approver(s) "
        "listed, so this step could never be approved",
        "flow.yaml:12: workflows[1].steps: must not be empty",
    ]


def test_missing_keys_duplicates_and_bad_ids():
    text = """\
approvals_channel: C0APPROVALS
approvals_channel: C0OTHER
workflows:
  - steps:
      - name: Copy
        approvers: {users: [anna]}
"""
    assert problems(text) == [
        "flow.yaml:2: approvals_channel: this key appears twice",
        "flow.yaml:4: workflows[0].name: this key is required but missing",
        "flow.yaml:6: workflows[0].steps[0].approvers.users[0]: must be a Slack id in capitals, "
        "such as U0ANNA, S0EDITORS or C0DRAFTS",
    ]


def test_a_step_that_nobody_can_approve():
    text = GOOD.replace("{users: [U0A, U0B]}", "{}").replace("quorum: 2", "quorum: 1")
    assert problems(text) == [
        "flow.yaml:9: workflows[0].steps[0].approvers: lists nobody: add users or usergroups"
    ]


def test_empty_and_non_mapping_files():
    assert problems("") == ["flow.yaml: the file is empty"]
    assert problems("- a\n- b\n") == ["flow.yaml:1: the file must be a mapping of keys"]


def test_cli_validate_reports_every_problem_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("quorum: 2", "quorum: 0").replace("C0SITE", "site"))
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "validate", str(bad)], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert f"{bad}:3: targets.site.channel: must be a Slack id" in run.stderr
    assert f"{bad}:10: workflows[0].steps[0].quorum: must be at least 1, not 0" in run.stderr
    assert "2 problems." in run.stderr
    good = subprocess.run(
        [sys.executable, "-m", "bot.cli", "validate", str(EXAMPLE)], capture_output=True, text=True
    )
    assert good.returncode == 0 and "OK (1 workflow(s), 3 step(s), 1 target(s))" in good.stdout


def test_cli_validate_missing_file(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "validate", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "cannot read the file: No such file or directory" in run.stderr


PUBLISHING_TARGETS = """\
  hook: {type: webhook, url: "https://hooks.example/in", secret_env: HOOK_SECRET}
  fedi: {type: mastodon, base_url: "https://mastodon.example", token_env: MASTODON_TOKEN}
  sky: {type: bluesky, handle: acme.bsky.social, password_env: BSKY_APP_PASSWORD}
"""


def with_targets(extra: str) -> str:
    return GOOD.replace("targets:\n", "targets:\n" + extra)


def test_publishing_targets_load_without_their_secrets_in_the_environment(monkeypatch):
    for name in ("HOOK_SECRET", "MASTODON_TOKEN", "BSKY_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    config = parse_workflow_file(with_targets(PUBLISHING_TARGETS))
    assert config.targets["hook"].timeout_seconds == 10
    assert config.targets["fedi"].visibility == "public"
    assert config.targets["fedi"].platform == "mastodon"
    assert config.targets["sky"].service == "https://bsky.social"
    assert config.targets["sky"].platform == "bluesky"


def test_unknown_key_in_a_webhook_target_names_the_path_in_the_file():
    found = problems(
        with_targets(
            "  hook:\n    type: webhook\n    url: https://hooks.example/in\n"
            "    secret_env: HOOK_SECRET\n    secret: s3cr3t\n"
        )
    )
    assert found == [
        "flow.yaml:7: targets.hook.secret: unknown key 'secret' "
        "(allowed here: type, url, secret_env, timeout_seconds, platform)"
    ]


def test_a_target_named_like_a_type_keeps_its_name_in_the_path():
    found = problems(with_targets("  webhook: {type: slack, channel: C0X, chanel: C0Y}\n"))
    assert found == [
        "flow.yaml:3: targets.webhook.chanel: unknown key 'chanel' "
        "(allowed here: type, channel, platform, timeout_seconds)"
    ]


def test_bad_target_types_urls_and_variable_names_are_explained():
    found = problems(
        with_targets(
            "  x: {type: twitter}\n"
            "  y: {channel: C0X}\n"
            "  fedi: {type: mastodon, base_url: mastodon.example, token_env: MASTODON-TOKEN}\n"
        )
    )
    assert found == [
        "flow.yaml:3: targets.x.type: unknown type 'twitter' "
        "(known types: slack, webhook, mastodon, bluesky)",
        "flow.yaml:4: targets.y.type: this key is required but missing "
        "(one of: slack, webhook, mastodon, bluesky)",
        "flow.yaml:5: targets.fedi.base_url: must be an http:// or https:// URL, "
        "not 'mastodon.example'",
        "flow.yaml:5: targets.fedi.token_env: must be the name of an environment variable "
        "(letters, digits, _), such as MASTODON_TOKEN, got 'MASTODON-TOKEN'",
    ]
