"""``python -m app.keys``: creates keys, stores only their hashes, refuses duplicates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
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
    assert result.exit_code != 0 and "unknown scope(s) ['root']" in result.output
    bad_id = CliRunner().invoke(cli, ["hash", "--id", "a b#c"], input="k\n")
    assert bad_id.exit_code != 0


def _create(*args: str):
    return CliRunner().invoke(cli, ["create", "--id", "ops", *args])


def test_key_out_onto_an_existing_readable_file_ends_up_0600(tmp_path: Path):
    """An existing 0644 file kept 0644 while the CLI printed '(mode 0600)'."""
    key_file = tmp_path / "my-key"
    key_file.write_text("old key\n")
    key_file.chmod(0o644)
    result = _create("--key-out", str(key_file))
    assert result.exit_code == 0, result.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().startswith("mlsk_")


def test_append_to_an_existing_readable_key_file_ends_up_0600(tmp_path: Path):
    keys_file = tmp_path / "api-keys"
    keys_file.write_text(key_line("old", new_key(), ["predict"]) + "\n")
    keys_file.chmod(0o644)
    result = _create("--append", str(keys_file))
    assert result.exit_code == 0, result.output
    assert keys_file.stat().st_mode & 0o777 == 0o600
    assert [k.key_id for k in parse_keys(keys_file.read_text())] == ["old", "ops"]


@pytest.mark.parametrize("option", ["--key-out", "--append"])
def test_a_symlink_is_refused_and_its_target_left_alone(tmp_path: Path, option: str):
    target = tmp_path / "elsewhere"
    target.write_text("")
    target.chmod(0o644)
    link = tmp_path / "link"
    link.symlink_to(target)
    result = _create(option, str(link))
    assert result.exit_code != 0
    assert "symbolic link" in result.output
    assert target.read_text() == "" and target.stat().st_mode & 0o777 == 0o644
    assert link.is_symlink()


def test_nothing_is_written_when_the_key_out_path_is_refused(tmp_path: Path):
    keys_file, link = tmp_path / "api-keys", tmp_path / "link"
    link.symlink_to(tmp_path / "missing")
    result = _create("--append", str(keys_file), "--key-out", str(link))
    assert result.exit_code != 0 and not keys_file.exists()


def test_hash_and_create_share_the_servers_scope_rules():
    for command in (["hash", "--id", "a"], ["create", "--id", "a"]):
        result = CliRunner().invoke(cli, [*command, "--scopes", "predict,,admin,"], input="k\n")
        assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(cli, ["create", "--id", "a", "--scopes", "root"])
    assert refused.exit_code != 0 and "unknown scope(s) ['root']" in refused.output
