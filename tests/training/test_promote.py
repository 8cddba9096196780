"""Promote: both models re-scored from the registry, a statistical gate, the aliases that move."""

from __future__ import annotations

import pytest

from app.model_contract import (
    ARTIFACT_SHA_TAG,
    CHALLENGER,
    CHAMPION,
    DECISION_TAG,
    METRIC_TAG_PREFIX,
    PREVIOUS,
    REASON_TAG,
    ArtifactError,
)
from training.config import ModelSpec, PromotionSpec
from training.evaluate import score
from training.promote import Decision, gate_failures, promote
from training.significance import Comparison
from training.train import train

SPEC = PromotionSpec(
    thresholds={"accuracy": 0.6, "roc_auc": 0.6}, compare_metrics=["roc_auc", "f1"], tolerance=0.01
)


def test_gate_failures_name_each_missed_threshold():
    assert gate_failures({"accuracy": 0.6, "roc_auc": 0.9}, SPEC) == []
    assert gate_failures({"accuracy": 0.59, "roc_auc": 0.5}, SPEC) == [
        "accuracy 0.5900 is below the threshold 0.6000",
        "roc_auc 0.5000 is below the threshold 0.6000",
    ]


def test_log_loss_is_a_maximum_because_lower_is_better():
    spec = PromotionSpec(thresholds={"log_loss": 0.3}, compare_metrics=["log_loss"])
    assert gate_failures({"log_loss": 0.2}, spec) == []
    assert gate_failures({"log_loss": 0.4}, spec) == ["log_loss 0.4000 is above the maximum 0.3000"]


def test_decision_renders_the_verdict_the_table_and_the_evidence():
    decision = Decision(
        promoted=False,
        candidate_version="2",
        champion_version="1",
        candidate_metrics={"f1": 0.5, "roc_auc": 0.7},
        champion_metrics={"roc_auc": 0.9},
        reasons=["roc_auc regresses"],
        comparisons=[Comparison("roc_auc", -0.2, -0.3, -0.1, regressed=True)],
        candidate_intervals={"f1": (0.4, 0.6), "roc_auc": (0.6, 0.8)},
    )
    lines = decision.render().splitlines()
    assert lines[0] == "candidate v2 vs champion v1: REJECTED (kept as @challenger)"
    assert lines[2].split() == ["f1", "0.5000", "-", "[0.4000,", "0.6000]"]
    assert lines[3].split()[:3] == ["roc_auc", "0.7000", "0.9000"]
    assert "evidence roc_auc: improvement -0.2000, CI [-0.3000, -0.1000] -> REGRESSION" in lines[4]
    assert lines[-1] == "  reason: roc_auc regresses"
    assert decision.to_dict()["champion_metrics"] == {"roc_auc": 0.9}


@pytest.fixture
def decide(fake_registry, small_frame, small_dataset):
    def run(version: str, spec: PromotionSpec = SPEC, holdout=None, **kwargs) -> Decision:
        return promote(
            model_name=fake_registry.name,
            candidate_version=version,
            holdout=small_frame if holdout is None else holdout,
            dataset=small_dataset,
            spec=spec,
            client=fake_registry,
            **kwargs,
        )

    return run


@pytest.fixture
def poor_model(small_frame, small_dataset):
    """Fitted on inverted labels: it gets most rows wrong."""
    inverted = small_frame.assign(target=1 - small_frame.target)
    return train(inverted, small_dataset, ModelSpec(kind="logistic_regression"), seed=0)


def test_the_first_passing_candidate_becomes_champion(fake_registry, small_model, decide):
    version = fake_registry.add_version(small_model)
    decision = decide(version)
    assert decision.promoted and decision.champion_version is None
    assert decision.reasons == ["passed every threshold (no champion yet)"]
    assert fake_registry.aliases == {CHAMPION: version}
    assert fake_registry.tags[version][DECISION_TAG] == "promoted"


def test_the_candidate_is_scored_from_the_registry_not_from_recorded_metrics(
    fake_registry, poor_model, small_frame, small_dataset, decide
):
    version = fake_registry.add_version(poor_model)
    # Borrowed numbers on the version do not count: promote computes its own.
    fake_registry.tags[version][f"{METRIC_TAG_PREFIX}accuracy"] = "0.99"
    decision = decide(version)
    assert not decision.promoted
    assert decision.candidate_metrics == score(poor_model, small_frame, small_dataset)
    assert fake_registry.aliases == {CHALLENGER: version}
    assert fake_registry.tags[version][DECISION_TAG] == "rejected"
    assert "below the threshold" in fake_registry.tags[version][REASON_TAG]


def test_a_tampered_candidate_is_never_scored(fake_registry, small_model, decide):
    version = fake_registry.add_version(small_model)
    fake_registry.tags[version][ARTIFACT_SHA_TAG] = "0" * 64
    with pytest.raises(ArtifactError, match="hash mismatch"):
        decide(version)
    assert fake_registry.aliases == {}


def test_a_clear_regression_is_refused_with_its_evidence(
    fake_registry, small_model, poor_model, decide
):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    lenient = SPEC.model_copy(update={"thresholds": {"accuracy": 0.0}})
    decision = decide(fake_registry.add_version(poor_model), lenient)
    assert not decision.promoted
    assert decision.champion_version == "1"
    assert {c.metric for c in decision.comparisons if c.regressed} == {"roc_auc", "f1"}
    assert all("CI [" in reason for reason in decision.reasons)
    assert fake_registry.aliases == {CHAMPION: "1", CHALLENGER: "2"}
    assert "evidence roc_auc" in decision.render()


def test_one_flipped_row_does_not_decide(fake_registry, small_model, small_frame, decide):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    candidate = fake_registry.add_version(small_model)
    # The same model on a holdout where one label differs: a point difference, no evidence.
    flipped = small_frame.copy()
    flipped.loc[0, "target"] = 1 - flipped.loc[0, "target"]
    strict = SPEC.model_copy(update={"tolerance": 0.0, "compare_metrics": ["accuracy"]})
    decision = decide(candidate, strict, holdout=flipped)
    assert decision.promoted, decision.render()
    mcnemar = strict.model_copy(update={"test": "mcnemar"})
    fake_registry.aliases = {CHAMPION: "1"}
    assert decide(fake_registry.add_version(small_model), mcnemar, holdout=flipped).promoted


def test_mcnemar_refuses_a_model_that_gets_many_more_rows_wrong(
    fake_registry, small_model, poor_model, decide
):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    spec = SPEC.model_copy(update={"test": "mcnemar", "thresholds": {}})
    decision = decide(fake_registry.add_version(poor_model), spec)
    assert not decision.promoted
    [evidence] = decision.comparisons
    assert evidence.metric == "accuracy" and evidence.p_value is not None
    assert evidence.p_value < 0.05 and evidence.regressed


def test_a_sharp_drop_of_the_champion_is_a_data_problem(
    fake_registry, small_model, small_frame, decide
):
    champion = fake_registry.add_version(small_model)
    fake_registry.aliases[CHAMPION] = champion
    fake_registry.tags[champion][f"{METRIC_TAG_PREFIX}roc_auc"] = "0.99"
    shifted = small_frame.assign(f0=small_frame.f0 * -1.4)  # the champion's signal is gone
    lenient = SPEC.model_copy(update={"thresholds": {}, "tolerance": 0.5})
    decision = decide(fake_registry.add_version(small_model), lenient, holdout=shifted)
    assert not decision.promoted
    assert any(r.startswith("data problem: champion v1's roc_auc fell") for r in decision.reasons)
    fake_registry.aliases = {CHAMPION: champion}
    accepted = decide(
        fake_registry.add_version(small_model), lenient, holdout=shifted, accepted_shift="recal"
    )
    assert accepted.promoted


def test_promotion_clears_any_challenger_and_the_champion_becomes_previous(
    fake_registry, small_model, poor_model, decide
):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    rejected = fake_registry.add_version(poor_model)
    assert not decide(rejected).promoted
    assert fake_registry.aliases[CHALLENGER] == rejected
    decision = decide(fake_registry.add_version(small_model))
    assert decision.promoted
    assert fake_registry.aliases == {CHAMPION: "3", PREVIOUS: "1"}
    assert "did not regress against champion v1" in fake_registry.tags["3"][REASON_TAG]


def test_a_champion_without_its_hash_tag_is_never_loaded(fake_registry, small_model, decide):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model, tagged=False)
    candidate = fake_registry.add_version(small_model)
    with pytest.raises(ArtifactError, match=f"no {ARTIFACT_SHA_TAG} tag"):
        decide(candidate)
    assert fake_registry.aliases == {CHAMPION: "1"}


def test_promoting_the_champion_again_says_so_and_moves_nothing(fake_registry, small_model, decide):
    fake_registry.aliases[CHAMPION] = fake_registry.add_version(small_model)
    decision = decide("1")
    assert decision.champion_version == "1" and not decision.changed
    assert decision.render().splitlines()[0] == (
        "candidate v1 vs champion v1: UNCHANGED (no alias moved)"
    )
    assert "already @champion" in decision.render()
    assert fake_registry.aliases == {CHAMPION: "1"}
    assert DECISION_TAG not in fake_registry.tags["1"]
