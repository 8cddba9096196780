"""``smoke`` against real API instances, a stub that answers 5xx, TLS stubs, and nothing at all."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from infra.release.cli import app
from tests.infra.release.conftest import Apis, Keys, StubHandler, serving
from tests.servers import free_port


def smoke(base_url: str, keys: Keys, *extra: str) -> tuple[int, str]:
    args = ["smoke", "--base-url", base_url, "--api-key-file", str(keys.key_file), *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


class FailingApi(StubHandler):
    """Every route answers 500, as a crashed backend behind a gateway would."""

    status = 500


@pytest.mark.slow
def test_passes_against_a_real_api_over_local_http(apis: Apis, release_keys: Keys):
    code, output = smoke(apis.stable.base_url, release_keys, "--allow-http")
    assert code == 0, output
    for check in ("tls", "health", "readiness", "model metadata", "prediction", "invalid request"):
        assert f"PASS  {check}" in output
    assert "breast-cancer-classifier v1" in output


@pytest.mark.slow
def test_fails_against_an_api_with_no_model(apis: Apis, release_keys: Keys):
    code, output = smoke(apis.broken.base_url, release_keys, "--allow-http", "--ready-timeout", "1")
    assert code == 1
    assert "FAIL  readiness" in output and "503" in output


@pytest.mark.slow
def test_fails_when_the_api_serves_another_model(apis: Apis, release_keys: Keys):
    code, output = smoke(
        apis.stable.base_url, release_keys, "--allow-http", "--model-name", "fraud-detector"
    )
    assert code == 1
    assert "FAIL  model metadata" in output and "expected fraud-detector" in output


@pytest.mark.slow
def test_fails_when_the_api_serves_another_version(apis: Apis, release_keys: Keys):
    code, output = smoke(apis.stable.base_url, release_keys, "--allow-http", "--model-version", "7")
    assert code == 1
    assert "FAIL  model metadata" in output


def test_fails_against_a_server_answering_5xx(release_keys: Keys):
    with serving(FailingApi) as url:
        code, output = smoke(url, release_keys, "--allow-http")
    assert code == 1
    assert "FAIL  health" in output and "500" in output


def test_fails_when_nothing_listens(release_keys: Keys):
    code, output = smoke(f"http://127.0.0.1:{free_port()}", release_keys, "--allow-http")
    assert code == 1
    assert "FAIL  health" in output and "ConnectError" in output


def test_refuses_plain_http_without_the_flag(release_keys: Keys):
    code, output = smoke(f"http://127.0.0.1:{free_port()}", release_keys)
    assert code == 1
    assert "FAIL  tls" in output and "--allow-http" in output


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def tls_server(cert_file: Path, key_file: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingApi)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_tls_is_verified(release_keys: Keys, tmp_path: Path):
    cert_file, key_file = _self_signed(tmp_path)
    with tls_server(cert_file, key_file) as url:
        untrusted = smoke(url, release_keys)
        trusted = smoke(url, release_keys, "--ca-file", str(cert_file))
    assert untrusted[0] == 1
    assert "FAIL  tls" in untrusted[1] and "CERTIFICATE_VERIFY_FAILED" in untrusted[1]
    # Trusted, the handshake passes and the failing backend is what fails the run.
    assert trusted[0] == 1
    assert "PASS  tls" in trusted[1] and "expires in 30 days" in trusted[1]
    assert "FAIL  health" in trusted[1]
