"""API keys, scopes, rotation and per-key rate limits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.auth import KeyFileError, KeyStore, hash_key, key_line, new_key, parse_keys, presented_key
from app.keys import cli
from app.rate_limit import RateLimiter, retry_after_header
from app.settings import ApiSettings
from tests.app.conftest import client_for, metrics_text, wait_ready


def test_missing_and_unknown_keys_are_401(api_settings, keys, feature_rows):
    with client_for(api_settings, None) as client:
        wait_ready(client)
        missing = client.post("/v1/predict", json={"rows": feature_rows[:1]})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["error"]["code"] == "unauthenticated"
        unknown = client.post(
            "/v1/predict",
            json={"rows": feature_rows[:1]},
            headers={"Authorization": f"Bearer {new_key()}"},
        )
        assert unknown.status_code == 401
        text = metrics_text(client)
        assert 'mlsys_auth_refused_total{reason="missing"} 1.0' in text
        assert 'mlsys_auth_refused_total{reason="unknown"} 1.0' in text


def test_bearer_and_x_api_key_both_work(api_settings, keys, feature_rows):
    with client_for(api_settings, None) as client:
        wait_ready(client)
        for headers in ({"Authorization": f"Bearer {keys.predict}"}, {"X-API-Key": keys.predict}):
            assert (
                client.post(
                    "/v1/predict", json={"rows": feature_rows[:1]}, headers=headers
                ).status_code
                == 200
            )


def test_scopes_are_enforced_both_ways(api_settings, keys, feature_rows):
    with client_for(api_settings, None) as client:
        wait_ready(client)
        as_admin = client.post(
            "/v1/predict", json={"rows": feature_rows[:1]}, headers=keys.bearer(keys.admin)
        )
        assert as_admin.status_code == 403
        assert "'predict' scope" in as_admin.json()["error"]["message"]
        assert client.post("/admin/reload", headers=keys.bearer(keys.predict)).status_code == 403
        reload = client.post("/admin/reload", headers=keys.bearer(keys.admin))
        assert reload.status_code == 200
        assert reload.json() == {"outcome": "unchanged", "model_version": "1", "error": None}
        assert 'mlsys_auth_refused_total{reason="scope"} 2.0' in metrics_text(client)


def test_key_file_rotation_takes_effect_without_restart(api_settings, keys, feature_rows):
    with client_for(api_settings, None) as client:
        wait_ready(client)
        replacement = new_key()
        keys.file.write_text(key_line("client-b", replacement, ["predict"]) + "\n")
        os.utime(keys.file, ns=(time.time_ns(), time.time_ns() + 10**9))
        client.app.state.mlsys.keys._checked_at = 0.0  # skip the once-a-second throttle
        assert (
            client.post(
                "/v1/predict", json={"rows": feature_rows[:1]}, headers=keys.bearer(replacement)
            ).status_code
            == 200
        )
        assert (
            client.post(
                "/v1/predict", json={"rows": feature_rows[:1]}, headers=keys.bearer(keys.predict)
            ).status_code
            == 401
        )


def test_a_broken_rewrite_keeps_the_last_good_keys(tmp_path: Path):
    path = tmp_path / "keys"
    key = new_key()
    path.write_text(key_line("a", key, ["predict"]) + "\n")
    store = KeyStore(path)
    path.write_text("garbage line\n")
    store._checked_at = 0.0
    assert store.lookup(key) is not None
    assert store.reload_errors == 1


def test_rate_limit_is_per_key_with_retry_after(api_settings, keys, feature_rows):
    settings = api_settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 2})
    with client_for(settings, keys.predict) as client:
        wait_ready(client)
        codes = [
            client.post("/v1/predict", json={"rows": feature_rows[:1]}).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        limited = client.post("/v1/predict", json={"rows": feature_rows[:1]})
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Another key has its own bucket.
        assert client.get("/v1/model", headers=keys.bearer(keys.admin)).status_code == 403
        assert 'mlsys_rate_limited_total{key_id="client-a"} 2.0' in metrics_text(client)


def test_token_bucket_refills_at_its_rate():
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("other") == 0.0
    assert retry_after_header(0.2) == "1" and retry_after_header(2.1) == "3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b\n", "line 1: expected"),
        ("a nothex predict\n", "line 1: the hash must be 64 hex"),
        (f"a {'0' * 64} predict\na {'1' * 64} admin\n", "line 2: key id 'a' appears twice"),
        (f"a {'0' * 64} root\n", "unknown scope"),
    ],
)
def test_key_file_errors_name_the_line(text: str, message: str):
    with pytest.raises(KeyFileError, match=message):
        parse_keys(text)


def test_presented_key_sources():
    assert presented_key("Bearer abc", None) == "abc"
    assert presented_key("bearer  abc ", None) == "abc"
    assert presented_key("Basic abc", "xyz") == "xyz"
    assert presented_key(None, None) is None


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


def test_settings_refuse_auth_without_a_key_file():
    with pytest.raises(ValidationError, match="MLSYS_API_API_KEYS_FILE is required"):
        ApiSettings(api_keys_file=None)
    assert ApiSettings(auth_enabled=False).api_keys_file is None


def test_server_refuses_to_start_with_a_bad_key_file(tmp_path: Path, monkeypatch):
    from app.main import create_app

    bad = tmp_path / "keys"
    bad.write_text("oops\n")
    with pytest.raises(KeyFileError, match="line 1"):
        create_app(ApiSettings(api_keys_file=bad, metrics_port=None))
