"""Training depends on the serving side only through the model contract, which is a leaf."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "app.model_contract"
PROJECT_PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports, as (line, dotted name); ``from a import b`` yields a.b."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "." * node.level + (node.module or "")
                continue
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.lineno, str(node.args[0].value)


def _imports_in_fresh_interpreter(paths: list[Path]) -> dict[Path, list[tuple[int, str]]]:
    """``_imports`` of each path, parsed by a new interpreter running this file.

    CPython 3.11 before 3.11.8 can leave the AST constructor's depth counter unbalanced after
    an error in an earlier test (python/cpython#106905); every later ``ast.parse`` in that
    process then fails with a SystemError. A child process starts with a clean counter.
    """
    result = subprocess.run(
        [sys.executable, __file__, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = json.loads(result.stdout)
    return {Path(p): [(line, name) for line, name in found[p]] for p in found}


def _top(name: str) -> str:
    return name.split(".")[0]


def test_project_packages_are_found():
    assert {"app", "training"} <= set(PROJECT_PACKAGES)


def test_training_imports_only_the_contract_from_app():
    sources = sorted((ROOT / "training").rglob("*.py"))
    assert len(sources) > 10
    imports = _imports_in_fresh_interpreter(sources)
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sources
        for line, name in imports[path]
        if _top(name) == "app" and not (name == CONTRACT or name.startswith(f"{CONTRACT}."))
    ]
    assert offending == []
    used = {name for path in sources for _, name in imports[path] if _top(name) == "app"}
    assert used, "training should take the contract's names from app.model_contract"


def test_the_contract_imports_nothing_from_the_project():
    path = ROOT / "app" / "model_contract.py"
    offending = [
        f"line {line} imports {name}"
        for line, name in _imports_in_fresh_interpreter([path])[path]
        if name.startswith(".") or _top(name) in PROJECT_PACKAGES
    ]
    assert offending == []


def test_the_import_check_sees_every_spelling(tmp_path: Path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import app.registry\n"
        "from app import drift\n"
        "from app.model_contract import MODEL_FILE\n"
        "from . import sibling\n"
        "importlib.import_module('app.artifact')\n"
    )
    assert [name for _, name in _imports_in_fresh_interpreter([probe])[probe]] == [
        "app.registry",
        "app.drift",
        "app.model_contract.MODEL_FILE",
        ".",
        "app.artifact",
    ]


if __name__ == "__main__":
    print(json.dumps({path: list(_imports(Path(path))) for path in sys.argv[1:]}))
