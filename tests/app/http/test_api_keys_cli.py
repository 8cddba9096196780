"""``python -m app.keys``: creates keys, stores only their hashes, refuses duplicates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from app.http.api_keys_cli import cli
from app.http.auth import hash_key, key_line, new_key, parse_keys


def test_keys_cli_creates_a_key_and_stores_only_its_hash(tmp_path: Path):
    keys_file, key_file = tmp_path / "api-keys", tmp_path / "my-key"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "create",
            "--id",
            "ci",
            "--scopes",
            "predict,admin",
            "--append",
            str(keys_file),
            "--key-out",
            str(key_file),
        ],
    )
    assert result.exit_code == 0, result.output
    key = key_file.read_text().strip()
    assert key.startswith("mlsk_") and key not in keys_file.read_text()
    assert key not in result.stdout
    assert keys_file.stat().st_mode & 0o777 == 0o600 and key_file.stat().st_mode & 0o777 == 0o600
    stored = parse_keys(keys_file.read_text())
    assert stored[0].key_id == "ci" and stored[0].digest.hex() == hash_key(key)
    again = runner.invoke(cli, ["create", "--id", "ci", "--append", str(keys_file)])
    assert again.exit_code != 0 and "appears twice" in str(again.exception)
    printed = runner.invoke(cli, ["create", "--id", "x"])
    assert printed.stdout.startswith("mlsk_")
    assert "hash line to store: x " in printed.stderr


def test_hash_prints_the_line_for_a_key_read_from_stdin():
    key = new_key()
    result = CliRunner().invoke(cli, ["hash", "--id", "team-a"], input=key + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == key_line("team-a", key, ["predict"])


def test_python_dash_m_app_keys_is_the_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "app.keys", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "create" in done.stdout


def test_hash_refuses_scopes_the_server_would_refuse():
    """`hash --scopes root,admin` printed a line the server then refused at start-up."""
    result = CliRunner().invoke(cli, ["hash", "--id", "a", "--scopes", "root,admin"], input="k\n")
    assert result.exit_code != 0 and "scopes must be among" in result.output
    bad_id = CliRunner().invoke(cli, ["hash", "--id", "a b#c"], input="k\n")
    assert bad_id.exit_code != 0
