"""Drill figures into the docs: each drill owns a marked section, replaced on every run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
RELIABILITY = DOCS / "reliability.md"
DISASTER_RECOVERY = DOCS / "DISASTER_RECOVERY.md"


def replace_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between ``<!-- drill:name -->`` markers, appending them if absent."""
    begin, end = f"<!-- drill:{name} -->", f"<!-- /drill:{name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{block}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{block}\n"
    path.write_text(text)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
