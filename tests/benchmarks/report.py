"""docs/benchmarks.md is shared by the benchmarks: each one rewrites only its own section."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` between ``name``'s markers in ``path``, in place, else at the end."""
    start, end = f"<!-- section: {name} -->", f"<!-- end of section: {name} -->"
    block = f"{start}\n{text.strip()}\n{end}\n"
    current = path.read_text() if path.exists() else ""
    if start in current and end in current:
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        path.write_text(before + block + (f"\n{after}" if after else ""))
    else:
        path.write_text(f"{current.rstrip()}\n\n{block}" if current.strip() else block)
