"""``integration``: a deployed API keeps its public contract, end to end, through the gateway.

The smoke test asks "is it up and serving the right model"; this asks "does it behave as
docs/api.md promises" on the staging URL before production sees the release: keys are
required, the three protocols agree, batches keep row order, refusals name the field, and
nothing redirects to a host the client did not ask for.
"""

from __future__ import annotations

import json
import math
import ssl
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from infra.release.api_options import (
    AllowHttp,
    ApiKeyFile,
    BaseUrl,
    CaFile,
    api_client,
    tls_verification,
)
from infra.release.report import Report
from infra.release.smoke import check_tls

_TOLERANCE = 1e-9


def _sample(model: dict[str, Any], request_file: Path | None) -> dict[str, Any]:
    """The first row of ``request_file`` (a /v1/predict body), else one built from the signature."""
    if request_file is not None:
        body = json.loads(request_file.read_text())
        if "rows" in body:
            return dict(body["rows"][0])
        return dict(zip(body["columns"], body["data"][0], strict=True))
    return {
        c["name"]: (1 if c["type"] in ("long", "integer") else 1.0)
        for c in model["signature"]["inputs"]
    }


def _nudged(row: dict[str, Any], factor: float) -> dict[str, Any]:
    """The row with its float values scaled: near the sample, so within any input bounds."""
    return {k: v * factor if isinstance(v, float) else v for k, v in row.items()}


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, abs_tol=_TOLERANCE) for x, y in zip(a, b, strict=True)
    )


def _v1(
    http: httpx.Client, model: dict[str, Any], rows: list[dict[str, Any]]
) -> tuple[list[Any], list[list[float]]]:
    """Labels, and probabilities in the signature's class order (the OIP tensor's columns)."""
    answer = http.post("/v1/predict", json={"rows": rows})
    answer.raise_for_status()
    body = answer.json()
    classes = [str(c) for c in model["signature"]["classes"]]
    return body["predictions"], [[p[c] for c in classes] for p in body["probabilities"]]


def _check_keys(report: Report, base_url: str, verify: ssl.SSLContext | bool, row: Any) -> None:
    with httpx.Client(base_url=base_url, timeout=10, verify=verify) as anonymous:
        for label, headers in (
            ("no key", {}),
            ("unknown key", {"Authorization": "Bearer " + "x" * 40}),
        ):
            status = anonymous.post("/v1/predict", json={"rows": [row]}, headers=headers)
            report.add(
                f"refused with {label}",
                status.status_code == 401,
                f"POST /v1/predict -> {status.status_code} (want 401)",
            )


def _check_protocols(
    report: Report, http: httpx.Client, model: dict[str, Any], row: dict[str, Any]
) -> None:
    labels, probabilities = _v1(http, model, [row])
    mlflow = http.post("/invocations", json={"dataframe_records": [row]})
    mlflow_labels = mlflow.json().get("predictions") if mlflow.status_code == 200 else None
    report.add(
        "mlflow protocol agrees",
        mlflow_labels == labels,
        f"/invocations -> {mlflow.status_code} {mlflow_labels}, /v1/predict {labels}",
    )
    columns = model["signature"]["inputs"]
    oip_body = {
        "inputs": [
            {
                "name": c["name"],
                "shape": [1],
                "datatype": "INT64" if c["type"] in ("long", "integer") else "FP64",
                "data": [row[c["name"]]],
            }
            for c in columns
        ]
    }
    oip = http.post(f"/v2/models/{model['name']}/infer", json=oip_body)
    outputs = (
        {o["name"]: o["data"] for o in oip.json().get("outputs", [])} if oip.is_success else {}
    )
    agree = outputs.get("label") == labels and _close(
        outputs.get("probabilities", []), probabilities[0]
    )
    report.add(
        "open inference agrees",
        agree,
        f"/v2/models/{model['name']}/infer -> {oip.status_code} {outputs or oip.text[:120]}",
    )


def _check_batches(
    report: Report, http: httpx.Client, model: dict[str, Any], row: dict[str, Any]
) -> None:
    rows = [_nudged(row, factor) for factor in (1.0, 1.02, 0.97, 1.05, 0.99)]
    batch_labels, batch_probabilities = _v1(http, model, rows)
    singles = [_v1(http, model, [row]) for row in rows]
    same = batch_labels == [s[0][0] for s in singles] and all(
        _close(b, s[1][0]) for b, s in zip(batch_probabilities, singles, strict=True)
    )
    report.add("batches keep row order", same, f"{len(rows)} rows as one batch and one by one")


def _check_refusals(
    report: Report, http: httpx.Client, model: dict[str, Any], row: dict[str, Any]
) -> None:
    first = model["signature"]["inputs"][0]["name"]
    missing = http.post(
        "/v1/predict", json={"rows": [{k: v for k, v in row.items() if k != first}]}
    )
    named = missing.status_code == 422 and first in missing.text
    report.add("missing column named", named, f"-> {missing.status_code} {missing.text[:120]}")
    wrong = http.post("/v1/predict", json={"rows": [{**row, first: "1.5"}]})
    report.add(
        "string value refused",
        wrong.status_code == 422 and "error" in wrong.json(),
        f"-> {wrong.status_code} {wrong.text[:120]}",
    )
    huge = http.post("/v1/predict", json={"rows": [{**row, first: 1e300}]})
    report.add(
        "out-of-range value refused",
        huge.status_code == 422 and first in huge.text,
        f"1e300 -> {huge.status_code} {huge.text[:120]}",
    )
    junk = http.post(
        "/v1/predict", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    report.add("broken JSON refused", junk.status_code == 400, f"-> {junk.status_code}")


def _check_no_open_redirect(report: Report, http: httpx.Client) -> None:
    answer = http.post(
        "/v1/predict/", json={"rows": []}, headers={"Host": "evil.example"}, follow_redirects=False
    )
    location = answer.headers.get("location", "")
    report.add(
        "no redirect to another host",
        "evil.example" not in location,
        f"POST /v1/predict/ with Host: evil.example -> {answer.status_code} {location or ''}",
    )


def integration(
    base_url: BaseUrl,
    api_key_file: ApiKeyFile,
    allow_http: AllowHttp = False,
    ca_file: CaFile = None,
    request_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            help="A valid /v1/predict body whose first row is the sample; else one is built "
            "from the signature (every float 1.0), which input bounds may refuse.",
        ),
    ] = None,
) -> None:
    """Keys required, protocols agree, batches keep order, refusals name fields, no redirects."""
    report = Report(f"integration {base_url}")
    typer.echo(f"integration test of {base_url}")
    base = base_url.rstrip("/")
    if check_tls(report, base, allow_http, ca_file):
        verify = tls_verification(ca_file)
        with api_client(base, api_key_file, ca_file) as http:
            try:
                info = http.get("/v1/model")
                if report.add("model metadata", info.status_code == 200, f"{info.status_code}"):
                    model = info.json()
                    row = _sample(model, request_file)
                    _check_keys(report, base, verify, row)
                    _check_protocols(report, http, model, row)
                    _check_batches(report, http, model, row)
                    _check_refusals(report, http, model, row)
                    _check_no_open_redirect(report, http)
            except (httpx.HTTPError, ValueError, KeyError, IndexError) as error:
                report.add("unexpected answer", False, f"{type(error).__name__}: {error}")
    report.verdict()
