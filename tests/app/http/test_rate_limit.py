"""Per-key token buckets: refill at their rate, 429 with Retry-After, one bucket per key."""

from __future__ import annotations

import pytest

from app.http.rate_limit import RateLimiter, retry_after_header
from tests.app.conftest import client_for, metrics_text, wait_ready


def test_rate_limit_is_per_key_with_retry_after(api_settings, keys, registry, feature_rows):
    settings = api_settings.model_copy(update={"rate_limit_per_second": 0.5, "rate_limit_burst": 2})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        codes = [
            client.post("/v1/predict", json={"rows": feature_rows[:1]}).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        limited = client.post("/v1/predict", json={"rows": feature_rows[:1]})
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Another key has its own bucket: the operator's first request is admitted.
        assert client.post("/admin/reload", headers=keys.bearer(keys.admin)).status_code == 200
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


def test_the_rate_limit_counts_rows_not_only_requests(api_settings, keys, registry, feature_rows):
    """Ten 1,000-row requests are a hundred times the work of ten 10-row ones."""
    settings = api_settings.model_copy(
        update={"rate_limit_rows_per_second": 1.0, "rate_limit_rows_burst": 1500, "max_rows": 1000}
    )
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        rows = (feature_rows * 10)[:1000]
        first = client.post("/v1/predict", json={"rows": rows})
        second = client.post("/v1/predict", json={"rows": rows})
        assert (first.status_code, second.status_code) == (200, 429)
        assert second.json()["error"]["code"] == "rate_limited"
        assert int(second.headers["retry-after"]) >= 1
        # A small request still fits in what is left of the row budget.
        assert client.post("/v1/predict", json={"rows": feature_rows[:10]}).status_code == 200


def test_a_bucket_charges_a_cost():
    now = [0.0]
    limiter = RateLimiter(rate=10.0, burst=100, clock=lambda: now[0])
    assert limiter.take("k", cost=60) == 0.0
    assert limiter.take("k", cost=60) == pytest.approx(2.0)  # 20 short, at 10 a second
    assert limiter.take("k", cost=40) == 0.0  # a refused charge takes nothing
