"""start-canary, promote, rollback and set-images on temporary copies of the real stack files."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra.release.cli import app
from infra.release.stack_config import (
    APP_IMAGE,
    CANARY_IMAGE,
    CANARY_WEIGHT,
    RELEASE_KEYS,
    ReleaseState,
    StackConfigError,
    read_release_state,
    write_release_state,
)
from infra.stack_file import REPO_ROOT

REPO = "444455556666.dkr.ecr.eu-west-1.amazonaws.com/mlsys-app"
NEW = f"{REPO}@sha256:{'b' * 64}"
NEWER = f"{REPO}@sha256:{'c' * 64}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for stack in ("staging", "prod"):
        shutil.copy(REPO_ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    return tmp_path


def release(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--root", str(root)])
    return result.exit_code, result.output


def config(path: Path) -> dict[str, object]:
    return dict(yaml.safe_load(path.read_text())["config"])


def other_lines(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line for line in lines if not line.startswith(tuple(f"  {k}:" for k in RELEASE_KEYS))]


def test_canary_then_promote_moves_the_digest_and_keeps_every_other_line(root: Path):
    path = root / "Pulumi.prod.yaml"
    before, stable = config(path), read_release_state(path).app_image
    untouched = other_lines(path)

    code, output = release(root, "start-canary", "-s", "prod", "--image", NEW, "--weight", "10")
    assert code == 0, output
    assert config(path) == {**before, CANARY_IMAGE: NEW, CANARY_WEIGHT: 10}
    assert "mlsys:canaryWeight" in output and "changed" in output

    code, output = release(root, "promote", "-s", "prod")
    assert code == 0, output
    assert config(path) == {**before, APP_IMAGE: NEW, CANARY_WEIGHT: 0}
    assert stable != NEW
    assert other_lines(path) == untouched  # comments and order included


def test_rollback_keeps_the_stable_image_and_removes_the_canary(root: Path):
    path = root / "Pulumi.prod.yaml"
    before = config(path)
    assert release(root, "start-canary", "-s", "prod", "--image", NEW)[0] == 0
    code, output = release(root, "rollback", "-s", "prod")
    assert code == 0, output
    assert config(path) == {**before, CANARY_WEIGHT: 0}


def test_start_canary_takes_the_stable_image_from_the_last_deployment(root: Path, tmp_path: Path):
    deployed = tmp_path / "deployed.yaml"
    shutil.copy(root / "Pulumi.prod.yaml", deployed)
    write_release_state(deployed, replace(read_release_state(deployed), app_image=NEWER))
    code, output = release(
        root, "start-canary", "-s", "prod", "--image", NEW, "--deployed-config", str(deployed)
    )
    assert code == 0, output
    state = read_release_state(root / "Pulumi.prod.yaml")
    assert (state.app_image, state.canary_image, state.canary_weight) == (NEWER, NEW, 10)


def test_set_images_pins_both_images(root: Path):
    training = f"{REPO}-training@sha256:{'d' * 64}"
    code, output = release(
        root, "set-images", "-s", "staging", "--app-image", NEW, "--training-image", training
    )
    assert code == 0, output
    state = read_release_state(root / "Pulumi.staging.yaml")
    assert (state.app_image, state.training_image) == (NEW, training)


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "-s", "prod"),  # nothing to promote
        ("start-canary", "-s", "prod", "--image", f"{REPO}:latest"),  # a tag, not a digest
        ("start-canary", "-s", "prod", "--image", NEW, "--weight", "101"),
        ("rollback", "-s", "nosuchstack"),
    ],
)
def test_refusals_exit_2_and_leave_the_file_alone(root: Path, args: tuple[str, ...]):
    path = root / "Pulumi.prod.yaml"
    text = path.read_text()
    code, output = release(root, *args)
    assert code == 2, output
    assert path.read_text() == text


def test_a_release_key_written_as_a_block_is_refused(root: Path):
    path = root / "Pulumi.prod.yaml"
    path.write_text(path.read_text() + f"  {CANARY_IMAGE}:\n    - {NEW}\n")
    state = ReleaseState(app_image=NEW, training_image=NEW, canary_image=NEW, canary_weight=5)
    with pytest.raises(StackConfigError, match="one-line"):
        write_release_state(path, state)


def test_a_weight_without_a_canary_image_is_refused():
    with pytest.raises(StackConfigError, match="needs mlsys:canaryImage"):
        ReleaseState(app_image=NEW, training_image=NEW, canary_weight=10)
