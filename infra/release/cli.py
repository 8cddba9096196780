"""The ``python -m infra.release`` command line: one subcommand per release step."""

from __future__ import annotations

import typer

from infra.release.canary import canary
from infra.release.integration import integration
from infra.release.loadtest import loadtest
from infra.release.promote import promote
from infra.release.rollback import rollback
from infra.release.set_images import set_images
from infra.release.smoke import smoke
from infra.release.start_canary import start_canary

app = typer.Typer(
    help="Release steps the CI/CD workflows run. Each prints a report and exits non-zero "
    "on failure (1: a check failed, 2: refused arguments or stack file).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("smoke")(smoke)
app.command("integration")(integration)
app.command("canary")(canary)
app.command("loadtest")(loadtest)
app.command("set-images")(set_images)
app.command("start-canary")(start_canary)
app.command("promote")(promote)
app.command("rollback")(rollback)
