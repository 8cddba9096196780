"""The short version of every drill, so none can rot: one restore, one fault, seconds of load.

The full drills are ``make drill-restore``, ``make drill-faults`` and ``make drill-load``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.drills import faults, load, restore
from tests.drills.stack import (
    MODEL_NAME,
    Stack,
    require_postgres_server,
    stack,
    train_versions,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str, str]]:
    """One stack with two signed versions for the three drills (training is the slow part)."""
    require_postgres_server()
    with stack(tmp_path_factory.mktemp("drills"), pg_through_proxy=True) as drill:
        first, second = train_versions(drill)
        yield drill, first, second


def test_restore_brings_back_the_registry_and_the_artifact(trained: tuple[Stack, str, str]):
    drill, first, second = trained
    figures = restore.drill_on(drill, first, second)
    assert (figures.versions, figures.aliases, figures.champion) == (2, 3, first)
    assert figures.rto_seconds < 120
    assert 0 < figures.rpo_seconds < 120
    assert "ManifestError" in figures.artifact_refused_reason


def test_api_rides_out_a_registry_outage_under_load(trained: tuple[Stack, str, str]):
    drill, first, _ = trained
    results, figures = faults.drill_on(drill, first, faults.SHORT_FAULTS, hold=3)
    assert faults.check(results) == []
    assert figures.requests > 0 and figures.failures == 0
    (outage,) = results
    assert (outage.training_exit == 1 and "registry" not in outage.training_message.lower()) or (
        outage.training_message
    )


def test_promotion_and_restart_under_load_lose_no_request(trained: tuple[Stack, str, str]):
    drill, first, second = trained
    result = load.drill_on(drill, first, second, seconds=15)
    assert result.figures.requests > 0 and result.figures.failures == 0
    champion = drill.client().get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == second
