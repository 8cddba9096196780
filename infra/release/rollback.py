"""``rollback``: all traffic back to the stable image, the canary removed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from infra.release.stack_config import StackConfigError
from infra.release.stack_options import RootOption, StackOption, apply_change, current_state, refuse


def rollback(stack: StackOption, root: RootOption = Path()) -> None:
    """Set mlsys:canaryWeight to 0 and remove mlsys:canaryImage; mlsys:appImage stays."""
    try:
        state = current_state(stack, root)
        apply_change(stack, root, "rollback", replace(state, canary_image=None, canary_weight=0))
    except StackConfigError as error:
        raise refuse(error) from None
