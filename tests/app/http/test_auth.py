"""API keys: 401/403 through the app, rotation without restart, the key file's rules."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from app.http.auth import KeyFileError, KeyStore, key_line, new_key, parse_keys, presented_key
from tests.app.conftest import client_for, metrics_text, wait_ready


def test_missing_and_unknown_keys_are_401(api_settings, keys, registry, feature_rows):
    with client_for(api_settings, None, registry) as client:
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


def test_bearer_and_x_api_key_both_work(api_settings, keys, registry, feature_rows):
    with client_for(api_settings, None, registry) as client:
        wait_ready(client)
        for headers in ({"Authorization": f"Bearer {keys.predict}"}, {"X-API-Key": keys.predict}):
            assert (
                client.post(
                    "/v1/predict", json={"rows": feature_rows[:1]}, headers=headers
                ).status_code
                == 200
            )


def test_scopes_are_enforced_both_ways(api_settings, keys, registry, feature_rows):
    with client_for(api_settings, None, registry) as client:
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


def test_key_file_rotation_takes_effect_without_restart(api_settings, keys, registry, feature_rows):
    with client_for(api_settings, None, registry) as client:
        wait_ready(client)
        replacement = new_key()
        keys.file.write_text(key_line("client-b", replacement, ["predict"]) + "\n")
        os.utime(keys.file, ns=(time.time_ns(), time.time_ns() + 10**9))
        client.app.state.mlsys.access.keys._checked_at = 0.0  # skip the once-a-second throttle
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


@pytest.mark.parametrize("rewrite", ["", "\n", "# every key revoked\n"])
def test_an_empty_rewrite_keeps_the_last_good_keys(
    tmp_path: Path, rewrite: str, caplog: pytest.LogCaptureFixture
):
    """Truncate-then-write (editors, ``>``) showed an empty file: 0 keys, every request 401."""
    path = tmp_path / "keys"
    key = new_key()
    path.write_text(key_line("a", key, ["predict"]) + "\n")
    store = KeyStore(path)
    path.write_text(rewrite)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    store._checked_at = 0.0
    with caplog.at_level(logging.ERROR, logger="mlsys.api.auth"):
        assert store.lookup(key) is not None
    assert store.reload_errors == 1 and len(store) == 1
    assert "keeping the previous keys" in caplog.text
    replacement = new_key()
    path.write_text(key_line("b", replacement, ["predict"]) + "\n")  # the write that follows
    store._checked_at = 0.0
    assert store.lookup(replacement) is not None and store.lookup(key) is None


def test_an_empty_key_file_is_refused_at_start_up(tmp_path: Path):
    path = tmp_path / "keys"
    path.write_text("# nothing yet\n")
    with pytest.raises(KeyFileError, match="no keys"):
        KeyStore(path)


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
