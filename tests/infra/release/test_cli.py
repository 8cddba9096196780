"""``python -m infra.release``: one entry point, ``--help`` for every command."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from infra.release.cli import app

COMMANDS = ("smoke", "canary", "loadtest", "set-images", "start-canary", "promote", "rollback")


def test_the_module_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-m", "infra.release", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in COMMANDS:
        assert command in done.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--" in result.output
