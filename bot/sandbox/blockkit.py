"""Block Kit validation with slack_sdk's model classes, reported the way Slack reports it.

slack_sdk's `validate_json()` checks one object; Slack checks the whole tree, so every nested
object is validated here too. Each problem is a string ending in `[json-pointer:/path]`, like
the `errors` Slack returns with `invalid_blocks`. A few rules Slack enforces and slack_sdk does
not are added (modal title, plain_text_input max_length).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models import JsonObject
from slack_sdk.models.blocks import Block, PlainTextInputElement
from slack_sdk.models.views import View

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
INPUT_MAX_LENGTH = 3000


def message_block_errors(blocks: Any) -> list[str]:
    """Problems with a message's `blocks` (already decoded from JSON); empty when valid."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > MESSAGE_BLOCK_LIMIT:
        errors.append(f"no more than {MESSAGE_BLOCK_LIMIT} items allowed [json-pointer:/blocks]")
    errors.extend(_blocks_errors(blocks, "/blocks"))
    return errors


def view_errors(view: Any) -> list[str]:
    """Problems with a modal or Home tab view payload; empty when valid."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"must be one of modal, home [json-pointer:/view/type]: got {kind!r}"]
    errors: list[str] = []
    if kind == "modal" and not view.get("title"):
        errors.append("missing required field: title [json-pointer:/view]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*errors, "must be an array [json-pointer:/view/blocks]"]
    # The view's own limits (title, private_metadata, ...) are checked on a copy holding one
    # placeholder block; the block count and the blocks themselves are checked below, by path.
    fields = {k: v for k, v in view.items() if k != "blocks"}
    try:
        parsed = View(**fields, blocks=[{"type": "divider"}])
    except (TypeError, SlackObjectFormationError) as exc:
        return [*errors, f"{exc} [json-pointer:/view]"]
    for name in ("title", "submit", "close"):
        child = getattr(parsed, name, None)
        if isinstance(child, JsonObject):
            errors.extend(_tree_errors(child, f"/view/{name}"))
    errors.extend(_own_errors(parsed, "/view"))
    if not 1 <= len(blocks) <= VIEW_BLOCK_LIMIT:
        errors.append(
            f"must contain between 1 and {VIEW_BLOCK_LIMIT} blocks [json-pointer:/view/blocks]"
        )
    errors.extend(_blocks_errors(blocks, "/view/blocks"))
    return errors


def _blocks_errors(blocks: list[Any], path: str) -> list[str]:
    errors: list[str] = []
    for index, raw in enumerate(blocks):
        where = f"{path}/{index}"
        if not isinstance(raw, dict):
            errors.append(f"must be an object [json-pointer:{where}]")
            continue
        try:
            block = Block.parse(raw)
        except (TypeError, SlackObjectFormationError) as exc:
            errors.append(f"{exc} [json-pointer:{where}]")
            continue
        if block is None:
            errors.append(f"unsupported type: {raw.get('type')!r} [json-pointer:{where}/type]")
            continue
        errors.extend(_tree_errors(block, where))
    return errors


def _own_errors(obj: JsonObject, path: str) -> list[str]:
    try:
        obj.validate_json()
    except SlackObjectFormationError as exc:
        return [f"{exc} [json-pointer:{path}]"]
    return []


def _tree_errors(obj: JsonObject, path: str) -> list[str]:
    errors = _own_errors(obj, path)
    length = obj.max_length if isinstance(obj, PlainTextInputElement) else None
    if length is not None and not 1 <= length <= INPUT_MAX_LENGTH:
        errors.append(f"must be between 1 and {INPUT_MAX_LENGTH} [json-pointer:{path}/max_length]")
    for name in sorted(obj.attributes):
        value = getattr(obj, name, None)
        if isinstance(value, JsonObject):
            errors.extend(_tree_errors(value, f"{path}/{name}"))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, JsonObject):
                    errors.extend(_tree_errors(item, f"{path}/{name}/{index}"))
    return errors
