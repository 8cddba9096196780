"""``smoke``: a deployed API answers over TLS, is ready, serves the right model and refuses junk."""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
import typer

from infra.release.api_options import AllowHttp, ApiKeyFile, BaseUrl, CaFile, api_client
from infra.release.report import Report

_SAMPLE_VALUE = {"long": 1, "integer": 1}  # other MLflow column types are floats


def _certificate_days_left(url: str, ca_file: Path | None) -> float:
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    host = parts.hostname or ""
    with (
        socket.create_connection((host, parts.port or 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        certificate = tls.getpeercert() or {}
    not_after = ssl.cert_time_to_seconds(str(certificate["notAfter"]))
    return (not_after - datetime.now(UTC).timestamp()) / 86400


def check_tls(report: Report, url: str, allow_http: bool, ca_file: Path | None) -> bool:
    scheme = urlsplit(url).scheme
    if scheme == "http":
        if allow_http:
            return report.add("tls", True, "plain http allowed by --allow-http")
        return report.add("tls", False, "http:// refused; use https or --allow-http (local only)")
    if scheme != "https":
        return report.add("tls", False, f"unsupported scheme {scheme!r}")
    try:
        days = _certificate_days_left(url, ca_file)
    except (OSError, ssl.SSLError) as error:
        return report.add("tls", False, f"handshake failed: {error}")
    return report.add("tls", days >= 7, f"certificate verified, expires in {days:.0f} days")


def _wait_ready(http: httpx.Client, timeout: float) -> tuple[bool, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = http.get("/readyz")
            if response.status_code == 200:
                return True, "200"
            last = f"{response.status_code} {response.text[:80]}"
        except httpx.HTTPError as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() > deadline:
            return False, f"not ready after {timeout:.0f}s: {last}"
        time.sleep(1)


def _sample_body(model: dict[str, Any]) -> dict[str, Any]:
    columns = model["signature"]["inputs"]
    return {"rows": [{c["name"]: _SAMPLE_VALUE.get(c["type"], 1.0) for c in columns}]}


@dataclass(frozen=True)
class Expectations:
    """What the deployed API must serve, and how long it may take to become ready."""

    model_name: str
    model_version: str | None
    request_file: Path | None
    ready_timeout: float


def _run_checks(report: Report, http: httpx.Client, want: Expectations) -> None:
    try:
        health = http.get("/healthz")
    except httpx.HTTPError as error:
        report.add("health", False, f"{type(error).__name__}: {error}")
        return
    if not report.add("health", health.status_code == 200, f"GET /healthz {health.status_code}"):
        return
    ready, detail = _wait_ready(http, want.ready_timeout)
    report.add("readiness", ready, f"GET /readyz {detail}")
    info = http.get("/v1/model")
    if info.status_code != 200:
        report.add("model metadata", False, f"GET /v1/model {info.status_code} {info.text[:120]}")
        return
    model = info.json()
    served = f"{model['name']} v{model['version']} ({model['engine']})"
    expected_version = want.model_version
    right = model["name"] == want.model_name and expected_version in (
        None,
        model["version"],
    )
    wanted = f"{want.model_name} v{expected_version or 'any'}"
    report.add("model metadata", right, f"serves {served}, expected {wanted}")
    body = json.loads(want.request_file.read_text()) if want.request_file else _sample_body(model)
    answer = http.post("/v1/predict", json=body)
    ok = answer.status_code == 200
    payload = answer.json() if ok else {}
    classes = set(model["signature"]["classes"])
    ok = (
        ok
        and payload.get("model_version") == model["version"]
        and bool(payload.get("predictions"))
        and {str(p) for p in payload["predictions"]} <= classes
    )
    report.add("prediction", ok, f"POST /v1/predict {answer.status_code} {answer.text[:120]}")
    junk = http.post("/v1/predict", json={"rows": [{"no_such_column": "not a number"}]})
    report.add(
        "invalid request refused",
        400 <= junk.status_code < 500,
        f"POST /v1/predict with a bad row -> {junk.status_code} (want 4xx)",
    )


def smoke(
    base_url: BaseUrl,
    api_key_file: ApiKeyFile,
    model_name: Annotated[str, typer.Option(help="Model the API must serve.")] = (
        "breast-cancer-classifier"
    ),
    model_version: Annotated[
        str | None, typer.Option(help="Version it must serve (any when unset).")
    ] = None,
    request_file: Annotated[
        Path | None,
        typer.Option(
            exists=True, help="A valid /v1/predict body; built from the signature if unset."
        ),
    ] = None,
    allow_http: AllowHttp = False,
    ca_file: CaFile = None,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 60.0,
) -> None:
    """TLS, health, readiness, model metadata, one valid prediction, one invalid request (4xx)."""
    want = Expectations(model_name, model_version, request_file, ready_timeout)
    report = Report(f"smoke {base_url}")
    typer.echo(f"smoke test of {base_url}")
    if check_tls(report, base_url, allow_http, ca_file):
        with api_client(base_url, api_key_file, ca_file) as http:
            try:
                _run_checks(report, http, want)
            except (httpx.HTTPError, ValueError, KeyError) as error:
                report.add("unexpected answer", False, f"{type(error).__name__}: {error}")
    report.verdict()
