"""Promote: absolute gates, no regression against the champion, and the aliases that move."""

from __future__ import annotations

import pytest

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    CHALLENGER,
    CHAMPION,
    DECISION_TAG,
    PREVIOUS,
    REASON_TAG,
    ArtifactError,
)
from training.config import PromotionSpec
from training.evaluate import score
from training.promote import Decision, gate_failures, promote, regressions

SPEC = PromotionSpec(
    thresholds={"accuracy": 0.6, "roc_auc": 0.6}, compare_metrics=["roc_auc", "f1"], tolerance=0.01
)


def test_gate_failures_name_each_missed_threshold():
    assert gate_failures({"accuracy": 0.6, "roc_auc": 0.9}, SPEC) == []
    assert gate_failures({"accuracy": 0.59, "roc_auc": 0.5}, SPEC) == [
        "accuracy 0.5900 is below the threshold 0.6000",
        "roc_auc 0.5000 is below the threshold 0.6000",
    ]


def test_regressions_allow_the_tolerance_and_no_more():
    champion = {"roc_auc": 0.90, "f1": 0.80}
    assert regressions({"roc_auc": 0.891, "f1": 0.80}, champion, SPEC) == []
    assert regressions({"roc_auc": 0.88, "f1": 0.80}, champion, SPEC) == [
        "roc_auc 0.8800 regresses against champion 0.9000 (tolerance 0.01)"
    ]


def test_decision_renders_a_table_with_the_verdict():
    decision = Decision(
        promoted=False,
        candidate_version="2",
        champion_version="1",
        candidate_metrics={"f1": 0.5, "roc_auc": 0.7},
        champion_metrics={"roc_auc": 0.9},
        reasons=["roc_auc regresses"],
    )
    lines = decision.render().splitlines()
    assert lines[0] == "candidate v2 vs champion v1: REJECTED (kept as @challenger)"
    assert lines[2].split() == ["f1", "0.5000", "-"]
    assert lines[3].split() == ["roc_auc", "0.7000", "0.9000"]
    assert lines[-1] == "  reason: roc_auc regresses"
    assert decision.to_dict()["champion_metrics"] == {"roc_auc": 0.9}


@pytest.fixture
def decide(fake_registry, small_frame, small_dataset):
    def run(version: str, metrics: dict[str, float]) -> Decision:
        return promote(
            model_name=fake_registry.name,
            candidate_version=version,
            candidate_metrics=metrics,
            holdout=small_frame,
            dataset=small_dataset,
            spec=SPEC,
            client=fake_registry,
        )

    return run


def test_the_first_passing_candidate_becomes_champion(fake_registry, small_model, decide):
    version = fake_registry.add_version(small_model)
    decision = decide(version, {"accuracy": 0.9, "roc_auc": 0.9, "f1": 0.9})
    assert decision.promoted and decision.champion_version is None
    assert decision.reasons == ["passed every threshold (no champion yet)"]
    assert fake_registry.aliases == {CHAMPION: version}
    assert fake_registry.tags[version][DECISION_TAG] == "promoted"


def test_a_candidate_below_a_gate_stays_challenger(fake_registry, small_model, decide):
    version = fake_registry.add_version(small_model)
    decision = decide(version, {"accuracy": 0.5, "roc_auc": 0.9, "f1": 0.9})
    assert not decision.promoted
    assert fake_registry.aliases == {CHALLENGER: version}
    assert fake_registry.tags[version][DECISION_TAG] == "rejected"
    assert "accuracy 0.5000 is below the threshold" in fake_registry.tags[version][REASON_TAG]


def test_the_champion_is_rescored_and_a_regression_is_refused(
    fake_registry, small_model, small_frame, small_dataset, decide
):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    champion_metrics = score(small_model, small_frame, small_dataset)
    worse = {**champion_metrics, "roc_auc": champion_metrics["roc_auc"] - 0.05}
    decision = decide(fake_registry.add_version(small_model), worse)
    assert not decision.promoted
    assert decision.champion_version == "1"
    assert decision.champion_metrics == champion_metrics
    assert [r.split(" regresses")[0] for r in decision.reasons] == [
        f"roc_auc {worse['roc_auc']:.4f}"
    ]
    assert fake_registry.aliases == {CHAMPION: "1", CHALLENGER: "2"}


def test_an_equal_candidate_is_promoted_and_the_champion_becomes_previous(
    fake_registry, small_model, small_frame, small_dataset, decide
):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    candidate = fake_registry.add_version(small_model)
    fake_registry.aliases[CHALLENGER] = candidate  # e.g. refused earlier, now retried
    decision = decide(candidate, score(small_model, small_frame, small_dataset))
    assert decision.promoted
    assert fake_registry.aliases == {CHAMPION: "2", PREVIOUS: "1"}
    assert "did not regress against the champion" in fake_registry.tags["2"][REASON_TAG]


def test_a_champion_without_its_hash_tag_is_never_loaded(fake_registry, small_model, decide):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model, tagged=False)
    candidate = fake_registry.add_version(small_model)
    with pytest.raises(ArtifactError, match=f"no {ARTIFACT_SHA_TAG} tag"):
        decide(candidate, {"accuracy": 0.9, "roc_auc": 0.9, "f1": 0.9})
    assert fake_registry.aliases == {CHAMPION: "1"}


def test_promoting_the_champion_again_does_not_compare_it_with_itself(
    fake_registry, small_model, decide
):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    decision = decide("1", {"accuracy": 0.9, "roc_auc": 0.9, "f1": 0.9})
    assert decision.promoted and decision.champion_version is None
    assert fake_registry.aliases == {CHAMPION: "1"}
