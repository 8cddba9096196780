"""``promote``: the canary image becomes the stable image and the canary weight returns to 0."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from infra.release.stack_config import StackConfigError
from infra.release.stack_options import RootOption, StackOption, apply_change, current_state, refuse


def promote(stack: StackOption, root: RootOption = Path()) -> None:
    """Set mlsys:appImage to mlsys:canaryImage, weight 0, canary removed; refuses with no canary."""
    try:
        state = current_state(stack, root)
        if state.canary_image is None:
            raise StackConfigError("there is no mlsys:canaryImage to promote")
        new = replace(state, app_image=state.canary_image, canary_image=None, canary_weight=0)
        apply_change(stack, root, "promote", new)
    except StackConfigError as error:
        raise refuse(error) from None
