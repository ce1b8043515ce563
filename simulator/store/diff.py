"""The change between two scenario bodies, field by field (dotted paths, as ``--set`` uses them)."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(body: dict) -> str:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _flatten(node: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = node


def flatten(body: dict) -> dict[str, Any]:
    """{'inference': {'replicas': 4}} -> {'inference.replicas': 4}; lists stay whole values."""
    out: dict[str, Any] = {}
    _flatten(body, "", out)
    return out


def body_diff(before: dict | None, after: dict) -> list[dict]:
    """[{'path', 'before', 'after'}] for every field that differs (all fields when ``before`` is None)."""
    old, new = flatten(before or {}), flatten(after)
    paths = sorted(set(old) | set(new)) if before is not None else []
    return [{"path": p, "before": old.get(p), "after": new.get(p)} for p in paths if old.get(p) != new.get(p)]


def diff_lines(diff: list[dict], limit: int = 40) -> list[str]:
    """'inference.replicas: 4 -> 6' lines for messages."""
    lines = [f"{d['path']}: {show_value(d['before'])} -> {show_value(d['after'])}" for d in diff[:limit]]
    if len(diff) > limit:
        lines.append(f"... and {len(diff) - limit} more")
    return lines


def show_value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."
