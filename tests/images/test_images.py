"""Both images, checked without a container engine: files, user, entrypoint, locked set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images.dockerfile import REPO, in_context, locked, resolved, stages

IMAGES = {
    # image -> (the dependency group it installs, what the entrypoint must run)
    "app": ("app", ["python", "-m", "app"]),
    "training": ("training", ["python", "-m", "training"]),
}


@pytest.mark.parametrize("image", IMAGES)
def test_every_copied_file_exists_and_reaches_the_build_context(image):
    dockerfile = REPO / image / "Dockerfile"
    ignore = REPO / image / "Dockerfile.dockerignore"
    sources = [
        source
        for stage in stages(dockerfile)
        for sources, _, from_stage in stage.copies()
        if not from_stage
        for source in sources
    ]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"{image}/Dockerfile copies {source}, which is missing"
        assert in_context(source, ignore), f"{source} is excluded by {ignore.name}"


@pytest.mark.parametrize("image", IMAGES)
def test_the_final_stage_runs_the_cli_as_a_fixed_non_root_user(image):
    final = stages(REPO / image / "Dockerfile")[-1]
    user = final.last("USER") or ""
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) >= 10000 and gid.isdigit(), user
    assert json.loads(final.last("ENTRYPOINT") or "[]") == IMAGES[image][1]


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_installs_its_group_at_locked_versions(image):
    """Every distribution the group needs is in the lock, so the build cannot drift."""
    pins = locked()
    needed = resolved(IMAGES[image][0])
    unpinned = sorted(name for name in needed if name not in pins)
    assert not unpinned, f"{image}: not in requirements.lock: {unpinned}"
    differing = {n: (v, pins[n]) for n, v in needed.items() if pins[n] != v}
    assert not differing, f"{image}: installed here vs locked: {differing}"


def _image_tree(image: str, root: Path) -> Path:
    """The files the image's build stage copies under /srv, laid out as in the image."""
    srv = root / "srv"
    for sources, destination, from_stage in stages(REPO / image / "Dockerfile")[0].copies():
        if from_stage or not destination.startswith("/srv"):
            continue
        target = srv / destination.removeprefix("/srv/").rstrip("/")
        for source in sources:
            path = REPO / source
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.name)
    return srv


@pytest.mark.parametrize(
    ("image", "command"),
    [
        ("training", ["-m", "training", "--help"]),
        ("training", ["-m", "training", "run", "--help"]),
        # The server module imports every route; --help of the keys CLI needs no model.
        ("app", ["-c", "import app.wiring.server, app.routes.predict"]),
        ("app", ["-m", "app.keys", "--help"]),
    ],
)
def test_the_entrypoint_runs_with_only_the_copied_files(image, command, tmp_path):
    srv = _image_tree(image, tmp_path)
    # -P: not the working folder; PYTHONPATH=/srv as the image sets it, so the copied tree
    # shadows the repository's editable install.
    env = {**os.environ, "PYTHONPATH": str(srv), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-P", *command],
        cwd=srv,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    if "--help" in command:
        assert "Usage" in result.stdout
