"""What can be checked of an image without a container engine: its Dockerfile and build context.

The final stage's user, entrypoint and copied files are read from the Dockerfile; the build
context is what the Dockerfile's .dockerignore lets through; the dependency set is the
pyproject group resolved through the installed distributions and compared with the lock.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, keyword: str) -> str | None:
        found = [args for kw, args in self.instructions if kw == keyword]
        return found[-1] if found else None

    def copies(self) -> list[tuple[list[str], str, bool]]:
        """(sources, destination, from another stage) for every COPY."""
        result = []
        for kw, args in self.instructions:
            if kw != "COPY":
                continue
            parts = args.split()
            flags = [p for p in parts if p.startswith("--")]
            paths = [p for p in parts if not p.startswith("--")]
            result.append((paths[:-1], paths[-1], any(f.startswith("--from=") for f in flags)))
        return result


def stages(dockerfile: Path) -> list[Stage]:
    """The build stages, each with its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            alias = re.search(r"\bAS\s+(\S+)", args, re.IGNORECASE)
            found.append(Stage(alias.group(1) if alias else None))
        elif found:
            found[-1].instructions.append((keyword, args.strip()))
    return found


def in_context(path: str, dockerignore: Path) -> bool:
    """Whether ``path`` (relative to the repository root) reaches the build context."""
    included = True
    for raw in dockerignore.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        # A pattern matches the path itself or any folder above it.
        parents = [path, *(str(p) for p in Path(path).parents if str(p) != ".")]
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in parents) or (
            "**" in pattern and fnmatch.fnmatchcase(path, pattern.replace("**/", "*"))
        ):
            included = negate
    return included


def group_requirements(group: str) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["optional-dependencies"][group]]


def locked() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[canonicalize_name(name)] = version.strip()
    return pins


def resolved(group: str) -> dict[str, str]:
    """Every distribution the group needs, transitively, as installed here: name -> version."""
    seen: dict[str, str] = {}
    queue: list[tuple[Requirement, frozenset[str]]] = [
        (r, frozenset()) for r in group_requirements(group)
    ]
    while queue:
        requirement, extras = queue.pop()
        markers_hold = requirement.marker is None or any(
            requirement.marker.evaluate({"extra": e}) for e in (extras or {""})
        )
        if not markers_hold:
            continue
        name = canonicalize_name(requirement.name)
        wanted = frozenset(requirement.extras)
        if name in seen and not wanted:
            continue
        distribution = metadata.distribution(requirement.name)
        seen[name] = distribution.version
        for child in distribution.requires or []:
            queue.append((Requirement(child), wanted))
    return seen
