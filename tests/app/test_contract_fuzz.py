"""Property-based tests of the OpenAPI contract: no generated input may produce a 5xx (slow)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.app.conftest import Keys

pytestmark = pytest.mark.slow


def test_no_generated_request_gets_a_server_error(api, keys: Keys):
    # schemathesis' own pytest plugin does not load under pytest 9, so the generated cases
    # are driven with plain Hypothesis, one property per operation in the published schema.
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        _check_operation(
            operation, keys.admin if operation.path.startswith("/admin") else keys.predict
        )


def _check_operation(operation: schemathesis.APIOperation, key: str) -> None:
    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def no_server_error(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        assert response.status_code < 500, (case.method, case.path, response.text[:300])

    no_server_error()
