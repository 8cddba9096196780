"""``start-canary``: send a share of the traffic to a new app image next to the stable one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from infra.release.stack_config import StackConfigError, read_release_state
from infra.release.stack_options import RootOption, StackOption, apply_change, current_state, refuse


def start_canary(
    stack: StackOption,
    image: Annotated[str, typer.Option(help="The new prediction API image, by digest.")],
    weight: Annotated[int, typer.Option(min=1, max=100, help="Percent of requests.")] = 10,
    training_image: Annotated[
        str | None, typer.Option(help="Also pin the training image (not canaried).")
    ] = None,
    deployed_config: Annotated[
        Path | None,
        typer.Option(
            help="Config of the last deployment (`pulumi config refresh --config-file F`): "
            "its mlsys:appImage is the stable image, since the file in git may be older."
        ),
    ] = None,
    root: RootOption = Path(),
) -> None:
    """Set mlsys:canaryImage and mlsys:canaryWeight; the stable mlsys:appImage stays."""
    try:
        state = current_state(stack, root)
        if deployed_config is not None:
            state = replace(state, app_image=read_release_state(deployed_config).app_image)
        new = replace(
            state,
            canary_image=image,
            canary_weight=weight,
            training_image=training_image or state.training_image,
        )
        apply_change(stack, root, "start-canary", new)
    except StackConfigError as error:
        raise refuse(error) from None
