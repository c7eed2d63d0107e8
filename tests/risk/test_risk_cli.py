"""`greenlight check` as a person or a CI pipeline runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COMMAND = [sys.executable, "-m", "bot.cli", "check"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, timeout=60)


def test_text_output_highlights_each_finding() -> None:
    result = run("Che cazzo, https://staging.acme.internal/x")
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "Risk: high" in out
    assert "»cazzo«" in out
    assert "»https://staging.acme.internal/x«" in out
    assert "[HIGH] confidential_or_leak" in out


def test_json_output_has_exactly_the_documented_shape() -> None:
    result = run("--json", "Usa il mio codice GIULIA15 @glowco")
    report = json.loads(result.stdout)
    assert set(report) == {"severity", "findings"}
    assert report["severity"] == "medium"
    for finding in report["findings"]:
        assert set(finding) == {
            "category",
            "severity",
            "start",
            "end",
            "excerpt",
            "message",
            "rule",
        }


def test_fail_on_sets_the_exit_code() -> None:
    assert run("--fail-on", "high", "Usa il mio codice GIULIA15 @glowco").returncode == 0
    assert run("--fail-on", "medium", "Usa il mio codice GIULIA15 @glowco").returncode == 1
    assert run("--fail-on", "low", "Buongiorno a tutti").returncode == 0


def test_reads_stdin_and_applies_the_platform() -> None:
    result = run("--platform", "x", "--json", "-", stdin=("è" * 300).encode())
    report = json.loads(result.stdout)
    assert [f["category"] for f in report["findings"]] == ["platform_length"]


def test_config_file_risk_section_is_used(tmp_path: Path) -> None:
    config = tmp_path / "workflow.yaml"
    config.write_text(
        "timezone: Europe/Rome\nrisk:\n  competitors: [Barilla]\n  own_contacts: [info@acme.it]\n",
        encoding="utf-8",
    )
    result = run("--config", str(config), "--json", "Meglio di Barilla! Scrivi a info@acme.it")
    categories = [f["category"] for f in json.loads(result.stdout)["findings"]]
    assert categories == ["competitor_or_brand_mention"]


def test_bad_input_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    empty = run("   ")
    assert empty.returncode == 2 and b"empty" in empty.stderr
    binary = run("-", stdin=b"\xff\xfe bad")
    assert binary.returncode == 2 and b"UTF-8" in binary.stderr
    missing = run("--config", str(tmp_path / "nope.yaml"), "hello")
    assert missing.returncode == 2 and b"cannot read config" in missing.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("risk:\n  competitor: [Nike]\n", encoding="utf-8")
    invalid = run("--config", str(typo), "hello")
    assert invalid.returncode == 2 and b"risk.competitor" in invalid.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("risk: [unclosed\n", encoding="utf-8")
    assert run("--config", str(broken), "hello").returncode == 2
