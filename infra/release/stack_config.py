"""The release keys of Pulumi.<stack>.yaml: read them typed, write them without touching the rest.

The workflow edits the stack file in the runner before ``pulumi up``, the way
``pulumi config set`` would, but line by line so comments and every other key stay as they
are; the written file is parsed back and compared before it replaces the original.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

APP_IMAGE = "mlsys:appImage"
TRAINING_IMAGE = "mlsys:trainingImage"
CANARY_IMAGE = "mlsys:canaryImage"
CANARY_WEIGHT = "mlsys:canaryWeight"
RELEASE_KEYS = (APP_IMAGE, TRAINING_IMAGE, CANARY_IMAGE, CANARY_WEIGHT)

# Images are referenced by digest only: a tag can move under a running Deployment.
IMAGE_BY_DIGEST = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
_KEY_LINE = re.compile(r"^  (?P<key>[A-Za-z0-9_:.-]+):(?P<rest>.*)$")


class StackConfigError(ValueError):
    """The stack file or the requested release state is not acceptable; the message says why."""


@dataclass(frozen=True, kw_only=True)
class ReleaseState:
    """What serves traffic: the stable image, and the canary image with its share of requests."""

    app_image: str
    training_image: str
    canary_image: str | None = None
    canary_weight: int = 0

    def __post_init__(self) -> None:
        for key, image in (
            (APP_IMAGE, self.app_image),
            (TRAINING_IMAGE, self.training_image),
            (CANARY_IMAGE, self.canary_image),
        ):
            if image is not None and not IMAGE_BY_DIGEST.match(image):
                raise StackConfigError(f"{key} must be an image by digest (repo@sha256:<64 hex>)")
        if not 0 <= self.canary_weight <= 100:
            raise StackConfigError(f"{CANARY_WEIGHT} must be 0-100, got {self.canary_weight}")
        if self.canary_weight > 0 and self.canary_image is None:
            raise StackConfigError(f"{CANARY_WEIGHT} > 0 needs {CANARY_IMAGE}")

    def as_config(self) -> dict[str, str | int | None]:
        """Config key -> value; ``None`` means the key is absent from the file."""
        return {
            APP_IMAGE: self.app_image,
            TRAINING_IMAGE: self.training_image,
            CANARY_IMAGE: self.canary_image,
            CANARY_WEIGHT: self.canary_weight,
        }


def stack_file(stack: str, root: Path) -> Path:
    """``root/Pulumi.<stack>.yaml``, which must exist."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackConfigError(f"{path} does not exist")
    return path


def _config_of(text: str, name: str) -> dict[str, Any]:
    document = yaml.safe_load(text) or {}
    config = document.get("config")
    if not isinstance(config, dict):
        raise StackConfigError(f"{name} has no config: block")
    return config


def read_release_state(path: Path) -> ReleaseState:
    """The release keys of one stack file; a missing canary means weight 0 and no image."""
    config = _config_of(path.read_text(), path.name)
    for key in (APP_IMAGE, TRAINING_IMAGE):
        if not isinstance(config.get(key), str):
            raise StackConfigError(f"{path.name}: {key} is missing")
    weight = config.get(CANARY_WEIGHT, 0)
    if not isinstance(weight, int) or isinstance(weight, bool):
        raise StackConfigError(f"{path.name}: {CANARY_WEIGHT} must be an integer 0-100")
    canary = config.get(CANARY_IMAGE)
    return ReleaseState(
        app_image=config[APP_IMAGE],
        training_image=config[TRAINING_IMAGE],
        canary_image=str(canary) if canary is not None else None,
        canary_weight=weight,
    )


def _edit_lines(lines: list[str], updates: dict[str, str | int | None]) -> list[str]:
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "config:"), None)
    if start is None:
        raise StackConfigError("no top-level config: line")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() and lines[i][0] != " "),
        len(lines),
    )
    result = lines[: start + 1]
    pending = dict(updates)
    anchor = start  # new keys go after the app image, or at the top of the block
    for line in lines[start + 1 : end]:
        match = _KEY_LINE.match(line)
        key = match["key"] if match else None
        if key in pending:
            value = pending.pop(key)
            if not match or not match["rest"].strip():
                raise StackConfigError(f"{key} is not a one-line value; edit it by hand")
            if value is not None:
                result.append(f"  {key}: {value}")
        else:
            result.append(line)
        if key == APP_IMAGE:
            anchor = len(result) - 1
    added = [f"  {key}: {value}" for key, value in pending.items() if value is not None]
    result[anchor + 1 : anchor + 1] = added
    return result + lines[end:]


def write_release_state(path: Path, state: ReleaseState) -> None:
    """Set the release keys of ``path`` to ``state``; every other line stays byte for byte."""
    text = path.read_text()
    before = _config_of(text, path.name)
    wanted = state.as_config()
    edited = "\n".join(_edit_lines(text.splitlines(), wanted)) + "\n"
    after = _config_of(edited, path.name)
    expected = {k: v for k, v in {**before, **wanted}.items() if v is not None}
    if after != expected:
        # A quoting or layout surprise must never reach `pulumi up`.
        raise StackConfigError(f"{path.name}: the edited file does not parse back as intended")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as sink:
        sink.write(edited)
    Path(temporary).chmod(path.stat().st_mode & 0o777)
    Path(temporary).replace(path)
