"""Property values as rules see them: plain data, with UNKNOWN where preview cannot know yet."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class _Unknown:
    """A value `pulumi preview` cannot know yet (it depends on a resource not yet created)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def get(value: Any, *path: str | int) -> Any:
    """``value[path[0]][path[1]]...``; None where missing, UNKNOWN as soon as one part is."""
    for part in path:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(part, int):
            value = value[part] if is_list(value) and -len(value) <= part < len(value) else None
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """A list property as a list (a single value becomes a list of one; None, none)."""
    if value is None:
        return []
    if is_list(value):
        return [value[i] for i in range(len(value))]
    return [value]


def truthy(value: Any) -> bool:
    """True for true or "true" (providers accept both); UNKNOWN is not true."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def statements(document: Any) -> list[Any] | Any:
    """The statements of an IAM document (dict or JSON text); UNKNOWN if it is."""
    if document is UNKNOWN:
        return UNKNOWN
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return [{"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": "unparseable"}]
    return items(get(document, "Statement"))
