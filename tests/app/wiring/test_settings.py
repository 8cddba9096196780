"""Settings: unsafe values refused at start-up, the registry URI's precedence, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.model_contract import CHALLENGER, CHAMPION
from app.wiring.settings import ApiSettings


@pytest.fixture(autouse=True)
def _no_mlflow_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URI", "TOKEN", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)


def test_settings_refuse_auth_without_a_key_file():
    with pytest.raises(ValidationError, match="MLSYS_API_API_KEYS_FILE is required"):
        ApiSettings(api_keys_file=None)
    assert ApiSettings(auth_enabled=False).api_keys_file is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model_alias": "champion; rm -rf"}, "MLSYS_API_MODEL_ALIAS"),
        ({"shadow_alias": "a/b"}, "MLSYS_API_SHADOW_ALIAS"),
        ({"port": 9000, "metrics_port": 9000}, "must differ"),
    ],
)
def test_unsafe_values_are_refused(values, message):
    with pytest.raises(ValidationError, match=message):
        ApiSettings(auth_enabled=False, **values)


def test_aliases_default_to_the_contract():
    settings = ApiSettings(auth_enabled=False)
    assert (settings.model_alias, settings.shadow_alias) == (CHAMPION, CHALLENGER)


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("MLSYS_API_AUTH_ENABLED", "false")
    monkeypatch.setenv("MLSYS_API_MAX_ROWS", "7")
    monkeypatch.setenv("MLSYS_HOME", str(tmp_path))
    settings = ApiSettings()
    assert settings.max_rows == 7 and settings.home == tmp_path


def test_registry_uri_prefers_the_setting_then_mlflow_then_the_embedded_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    embedded = ApiSettings(auth_enabled=False, home=tmp_path)
    assert embedded.registry_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert ApiSettings(auth_enabled=False).registry_uri == "http://mlflow:5000"
    explicit = ApiSettings(auth_enabled=False, tracking_uri="http://other:5000")
    assert explicit.registry_uri == "http://other:5000"


def test_tracking_credentials_come_from_mlflow_variables_and_stay_secret(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "svc")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw-456")
    settings = ApiSettings(auth_enabled=False)
    assert settings.mlflow_tracking_token is not None
    assert settings.mlflow_tracking_token.get_secret_value() == "tok-123"
    assert settings.mlflow_tracking_username == "svc"
    assert settings.mlflow_tracking_password is not None
    assert settings.mlflow_tracking_password.get_secret_value() == "pw-456"
    for text in (repr(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert "tok-123" not in text and "pw-456" not in text
