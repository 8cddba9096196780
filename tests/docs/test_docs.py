"""The docs a newcomer reads first: diagrams that render and paths that lead somewhere."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# `make docs-tools` installs mermaid (pinned in tests/docs/package-lock.json) here.
TOOLS = Path(os.environ.get("MLSYS_DOCS_TOOLS", REPO / "build" / "docs-tools"))
# A backticked token that names a file or folder of this repository.
_PATH = re.compile(r"`((?:app|infra|training|tests|docs|\.github|\.ci)/[A-Za-z0-9_./{},-]*)`")


def _expand(path: str) -> list[str]:
    """``Pulumi.{dev,prod}.yaml`` style alternatives become one path each."""
    match = re.search(r"\{([^}]*)\}", path)
    if not match:
        return [path]
    head, tail = path[: match.start()], path[match.end() :]
    return [p for option in match.group(1).split(",") for p in _expand(head + option + tail)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_paths_exist(doc: Path) -> None:
    missing = [
        path
        for token in _PATH.findall(doc.read_text())
        for path in _expand(token.rstrip("/."))
        if not (REPO / path).exists()
    ]
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


def test_architecture_doc_is_linked_from_the_readme() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text()


def test_mermaid_diagrams_parse() -> None:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed to parse the diagrams"
    assert (TOOLS / "node_modules" / "mermaid").is_dir(), f"`make docs-tools` installs {TOOLS}"
    script = TOOLS / "check_mermaid.mjs"
    # Copied next to its node_modules: ES modules resolve packages from the script's folder.
    shutil.copyfile(Path(__file__).with_name("check_mermaid.mjs"), script)
    with_diagrams = [str(doc) for doc in DOCS if "```mermaid" in doc.read_text()]
    assert with_diagrams, "no document holds a mermaid diagram"
    result = subprocess.run(
        [node, str(script), *with_diagrams], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
