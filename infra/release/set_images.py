"""``set-images``: pin the app and training images of a stack (staging deploys straight to them)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from infra.release.stack_config import StackConfigError
from infra.release.stack_options import RootOption, StackOption, apply_change, current_state, refuse


def set_images(
    stack: StackOption,
    app_image: Annotated[str, typer.Option(help="Prediction API image by digest.")],
    training_image: Annotated[str, typer.Option(help="Training image by digest.")],
    root: RootOption = Path(),
) -> None:
    """Set mlsys:appImage and mlsys:trainingImage, and clear any canary (weight 0)."""
    try:
        state = current_state(stack, root)
        new = replace(
            state,
            app_image=app_image,
            training_image=training_image,
            canary_image=None,
            canary_weight=0,
        )
        apply_change(stack, root, "set-images", new)
    except StackConfigError as error:
        raise refuse(error) from None
