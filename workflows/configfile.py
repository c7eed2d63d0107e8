"""Load a workflow file and explain every problem in it at once.

Each problem names the file, the line where YAML can tell, the key path
(`workflows[0].steps[1].quorum`) and what is wrong in plain words. Structural problems come from
pydantic; references between sections (unknown target names, a quorum larger than the people
listed) are checked on the raw document so they are reported in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from workflows.config import ENV_VAR_PATTERN, QUORUM_ALL, SLACK_ID_PATTERN, WorkflowFile

PathPart = str | int


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The workflow file cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_workflow_file(path: str | Path) -> WorkflowFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Problem(str(path), None, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            [Problem(str(path), None, "", "the file is not valid UTF-8 text")]
        ) from None
    return parse_workflow_file(text, str(path))


def parse_workflow_file(text: str, filename: str = "<workflow>") -> WorkflowFile:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(filename, line, "", f"YAML syntax error: {problem}")]) from None
    if root is None:
        raise ConfigError([Problem(filename, None, "", "the file is empty")])
    lines: dict[tuple[PathPart, ...], int] = {}
    problems = [
        Problem(filename, line, _format_path(path), message)
        for path, line, message in _index_lines(root, (), lines)
    ]
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        problems.append(Problem(filename, 1, "", "the file must be a mapping of keys"))
        raise ConfigError(problems)

    def problem(path: tuple[PathPart, ...], message: str) -> Problem:
        return Problem(filename, _line_for(path, lines), _format_path(path), message)

    config: WorkflowFile | None = None
    try:
        config = WorkflowFile.model_validate(data)
    except ValidationError as exc:
        problems += [problem(*_locate(e)) for e in exc.errors()]
    problems += [problem(path, msg) for path, msg in _reference_problems(data)]
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0, p.path)))
    assert config is not None
    return config


def _index_lines(
    node: yaml.Node, path: tuple[PathPart, ...], lines: dict[tuple[PathPart, ...], int]
) -> Iterator[tuple[tuple[PathPart, ...], int, str]]:
    """Record the line of every key path; yield duplicate keys, which YAML would hide."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            if key in seen:
                yield child, key_node.start_mark.line + 1, "this key appears twice"
            seen.add(key)
            yield from _index_lines(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _index_lines(item, (*path, index), lines)


def _line_for(path: tuple[PathPart, ...], lines: dict[tuple[PathPart, ...], int]) -> int | None:
    for end in range(len(path), -1, -1):
        key = tuple(str(p) if isinstance(p, str) else p for p in path[:end])
        if key in lines:
            return lines[key]
    return None


def _format_path(path: tuple[PathPart, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(error: Any) -> tuple[tuple[PathPart, ...], str]:
    """The key path as the file spells it, and the problem in plain words."""
    path, annotation = _walk(tuple(error["loc"]))
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        known = ", ".join(_tags(annotation))
        if error["type"] == "union_tag_not_found":
            return (*path, "type"), f"this key is required but missing (one of: {known})"
        return (*path, "type"), f"unknown type {error['ctx']['tag']!r} (known types: {known})"
    return path, _explain(error)


def _explain(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {error['loc'][-1]!r}{hint}"
    if kind == "missing":
        return "this key is required but missing"
    if kind == "too_short" and error.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        if pattern == SLACK_ID_PATTERN:
            message = "must be a Slack id in capitals, such as U0ANNA, S0EDITORS or C0DRAFTS"
        elif pattern == ENV_VAR_PATTERN:
            message = (
                "must be the name of an environment variable (letters, digits, _), "
                f"such as MASTODON_TOKEN, got {error['input']!r}"
            )
    if kind in (
        "string_type",
        "int_type",
        "int_parsing",
        "bool_parsing",
        "list_type",
        "dict_type",
        "model_type",
        "literal_error",
        "bool_type",
    ):
        message = f"{message[0].lower()}{message[1:]}, got {error['input']!r}"
    return message


def _allowed_keys(loc: tuple[PathPart, ...]) -> list[str]:
    """The keys a model accepts at `loc`, to suggest the right spelling of a typo."""
    model = _walk(loc)[1]
    return list(model.model_fields) if _is_model(model) else []


def _walk(loc: tuple[PathPart, ...]) -> tuple[tuple[PathPart, ...], Any]:
    """Follow a pydantic error location through the schema.

    Returns the location without the tags pydantic inserts for a discriminated union
    (`targets.hook.webhook.url` is `targets.hook.url` in the file), and the type found there.
    """
    path: list[PathPart] = []
    annotation: Any = WorkflowFile
    for part in loc:
        annotation = _unwrap(annotation)
        members = _tags(annotation)
        if isinstance(part, str) and part in members:
            annotation = members[part]
            continue
        path.append(part)
        if _is_model(annotation):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            annotation = field.annotation if field else None
        elif get_origin(annotation) in (dict, list):
            annotation = get_args(annotation)[-1]
        else:
            annotation = None
    return tuple(path), _unwrap(annotation)


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` are X for walking the schema."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if get_origin(annotation) in (Union, UnionType):
            others = [a for a in get_args(annotation) if a is not NoneType]
            if len(others) == 1:
                annotation = others[0]
                continue
        return annotation


def _tags(annotation: Any) -> dict[str, Any]:
    """The members of a union of models told apart by a `type` literal, by tag."""
    if get_origin(annotation) not in (Union, UnionType):
        return {}
    members: dict[str, Any] = {}
    for member in get_args(annotation):
        field = member.model_fields.get("type") if _is_model(member) else None
        if field is not None and get_origin(field.annotation) is Literal:
            members[get_args(field.annotation)[0]] = member
    return members


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _reference_problems(data: dict[str, Any]) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """Cross-section checks, tolerant of a malformed shape (pydantic reports that)."""
    targets = data.get("targets") if isinstance(data.get("targets"), dict) else {}
    known = sorted(str(t) for t in targets)
    has_default_channel = bool(data.get("approvals_channel"))

    def unknown_targets(names: Any, path: tuple[PathPart, ...]):
        for i, name in enumerate(names if isinstance(names, list) else []):
            if isinstance(name, str) and name not in targets:
                listed = ", ".join(known) if known else "none are defined under targets"
                yield (*path, i), f"unknown target {name!r} (defined targets: {listed})"

    workflows = data.get("workflows") if isinstance(data.get("workflows"), list) else []
    names_seen: set[str] = set()
    for w, workflow in enumerate(workflows):
        if not isinstance(workflow, dict):
            continue
        name = workflow.get("name")
        if isinstance(name, str):
            if name in names_seen:
                yield ("workflows", w, "name"), f"another workflow is already named {name!r}"
            names_seen.add(name)
        yield from unknown_targets(workflow.get("targets"), ("workflows", w, "targets"))
        match = workflow.get("match")
        if isinstance(match, dict):
            yield from unknown_targets(match.get("targets"), ("workflows", w, "match", "targets"))
        steps = workflow.get("steps") if isinstance(workflow.get("steps"), list) else []
        for s, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            path = ("workflows", w, "steps", s)
            when = step.get("when")
            if isinstance(when, dict):
                yield from unknown_targets(when.get("targets"), (*path, "when", "targets"))
            if not has_default_channel and not step.get("channel"):
                yield (
                    (*path, "channel"),
                    (
                        "no channel for this step's approval cards: set `channel` here "
                        "or `approvals_channel` at the top of the file"
                    ),
                )
            yield from _approver_problems(step, path)


def _approver_problems(step: dict[str, Any], path: tuple[PathPart, ...]):
    approvers = step.get("approvers")
    if not isinstance(approvers, dict):
        return
    users = approvers.get("users") or []
    groups = approvers.get("usergroups") or []
    if not isinstance(users, list) or not isinstance(groups, list):
        return
    if not users and not groups:
        yield (*path, "approvers"), "lists nobody: add users or usergroups"
        return
    quorum = step.get("quorum", 1)
    if quorum != QUORUM_ALL and isinstance(quorum, int) and not groups and quorum > len(set(users)):
        yield (
            (*path, "quorum"),
            (
                f"quorum {quorum} is larger than the {len(set(users))} "
                "approver(s) listed, so this step could never be approved"
            ),
        )
