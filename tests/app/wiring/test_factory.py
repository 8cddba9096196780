"""The app factory: reads the key file at once, never the registry, and warns when auth is off."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.http.auth import KeyFileError
from app.wiring.factory import build_state, create_app
from app.wiring.settings import ApiSettings
from tests.app.registry_double import InMemoryRegistry


def test_server_refuses_to_start_with_a_bad_key_file(tmp_path: Path):
    bad = tmp_path / "keys"
    bad.write_text("oops\n")
    with pytest.raises(KeyFileError, match="line 1"):
        create_app(ApiSettings(api_keys_file=bad, metrics_port=None))


def test_building_the_state_touches_no_registry(tmp_path: Path):
    state = build_state(ApiSettings(auth_enabled=False, home=tmp_path / "home"))
    assert state.swapper.current is None and state.swapper._registry is None
    assert state.access.keys is None and state.shadow is None
    assert not (tmp_path / "home").exists()


def test_auth_off_is_logged_as_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    settings = ApiSettings(auth_enabled=False, metrics_port=None, home=tmp_path)
    with (
        caplog.at_level(logging.WARNING, logger="mlsys.api"),
        TestClient(create_app(settings, InMemoryRegistry())),
    ):
        pass
    assert "authentication is OFF" in caplog.text


def test_shadow_scorer_exists_only_when_enabled(tmp_path: Path):
    settings = ApiSettings(auth_enabled=False, home=tmp_path, shadow_enabled=True)
    assert build_state(settings).shadow is not None


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/predict/"), ("GET", "/healthz/")])
def test_a_trailing_slash_is_not_redirected_to_the_host_header(api: TestClient, method, path):
    """The redirect was built from Host: an open redirect to http://evil.example/v1/predict."""
    response = api.request(
        method, path, headers={"Host": "evil.example"}, json={}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers
    assert "evil.example" not in response.text


def test_interactive_docs_are_off_unless_enabled(api_settings: ApiSettings):
    """/docs loaded Swagger UI from a public CDN with no integrity check, for anyone."""
    default = TestClient(create_app(api_settings))
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert default.get(path).status_code == 404
    assert default.get("/openapi.json").status_code == 200
    enabled = TestClient(create_app(api_settings.model_copy(update={"docs_enabled": True})))
    for path in ("/docs", "/redoc"):
        page = enabled.get(path)
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
    assert (
        enabled.get("/healthz").headers["content-security-policy"].startswith("default-src 'none'")
    )
