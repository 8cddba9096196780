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
