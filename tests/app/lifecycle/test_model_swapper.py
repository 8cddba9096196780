"""The swapper: loads in the background, swaps atomically, keeps serving when a load fails."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from app.lifecycle.model_swapper import ModelSwapper, RefreshOutcome
from app.lifecycle.registry_client import RegistryError
from app.metrics import ApiMetrics
from app.model_contract import MANIFEST_SIGNATURE_TAG, MODEL_FILE
from tests.app.conftest import client_for, fit, metrics_text, wait_ready, wait_until
from tests.app.crafted_models import crafted_forest
from tests.app.registry_double import InMemoryRegistry, write_model_folder


def _swapper(settings, registry) -> tuple[ModelSwapper, ApiMetrics]:
    metrics = ApiMetrics()
    return ModelSwapper(settings, metrics, registry), metrics


def _failures(metrics: ApiMetrics, reason: str) -> float | None:
    labels = {"alias": "champion", "reason": reason}
    return metrics.registry.get_sample_value("mlsys_model_load_failures_total", labels)


def test_refresh_loads_then_reports_unchanged(api_settings, registry):
    swapper, metrics = _swapper(api_settings, registry)
    assert swapper.current is None
    assert swapper.refresh() is RefreshOutcome.LOADED
    assert swapper.current is not None and swapper.current.version.version == "1"
    first = swapper.current
    assert swapper.refresh() is RefreshOutcome.UNCHANGED
    assert swapper.current is first
    assert metrics.registry.get_sample_value("mlsys_model_loads_total") == 1.0
    assert metrics.registry.get_sample_value("mlsys_model_ready") == 1.0


def test_an_unset_alias_is_no_version_with_a_reason(api_settings):
    swapper, _ = _swapper(api_settings, InMemoryRegistry())
    assert swapper.refresh() is RefreshOutcome.NO_VERSION
    assert swapper.last_error == "breast-cancer-classifier@champion is not set"


def test_a_swap_moves_model_info_to_the_new_version(api_settings, registry, weak_folder):
    swapper, metrics = _swapper(api_settings, registry)
    swapper.refresh()
    registry.set_alias("champion", registry.publish(weak_folder))
    assert swapper.refresh() is RefreshOutcome.LOADED
    info = {
        s.labels["version"]: s.value
        for family in metrics.registry.collect()
        if family.name == "mlsys_model_info"
        for s in family.samples
    }
    assert info == {"2": 1.0}


def _tamper_file(registry: InMemoryRegistry, folder: Path) -> tuple[str, str]:
    with (folder / MODEL_FILE).open("ab") as handle:  # an artifact-store write after signing
        handle.write(b"\0")
    return "changed ['model.skops']", "ManifestError"


def _remove_artifact(registry: InMemoryRegistry, folder: Path) -> tuple[str, str]:
    (folder / MODEL_FILE).unlink()
    return "missing ['model.skops']", "ManifestError"


def _drop_signature(registry: InMemoryRegistry, folder: Path) -> tuple[str, str]:
    resolved, where = registry.versions["2"]
    tags = {k: v for k, v in resolved.tags.items() if k != MANIFEST_SIGNATURE_TAG}
    registry.versions["2"] = (replace(resolved, tags=tags), where)
    return "no signed manifest", "SignatureError"


def _serves_version_1(client, keys, feature_rows) -> None:
    assert client.get("/readyz").json()["model_version"] == "1"
    predicted = client.post(
        "/v1/predict",
        json={"rows": feature_rows[:1]},
        headers={"Authorization": f"Bearer {keys.predict}"},
    )
    assert predicted.status_code == 200 and predicted.json()["model_version"] == "1"


@pytest.mark.parametrize("break_it", [_tamper_file, _remove_artifact, _drop_signature])
def test_a_version_that_fails_its_checks_never_replaces_the_champion(
    api_settings, keys, registry, weak_folder, tmp_path, feature_rows, break_it
):
    folder = shutil.copytree(weak_folder, tmp_path / "v2")
    registry.publish(folder)
    expected_error, reason = break_it(registry, folder)
    with client_for(api_settings, keys.admin, registry) as client:
        wait_ready(client)
        registry.set_alias("champion", "2")
        outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "failed" and expected_error in outcome["error"]
        assert outcome["model_version"] == "1"
        _serves_version_1(client, keys, feature_rows)
        text = metrics_text(client)
        assert f'mlsys_model_load_failures_total{{alias="champion",reason="{reason}"}} 1.0' in text


@pytest.mark.parametrize(
    ("signed", "reason", "message"),
    [
        # a registry writer: the hash tag matches, but nobody could sign the manifest
        (False, "SignatureError", "no signed manifest"),
        # a compromised training job signs it: the tree check in the probe refuses it
        (True, "ProbeError", "TreeStructureError"),
    ],
)
def test_a_crafted_tree_at_champion_is_refused_and_the_server_keeps_serving(
    api_settings, keys, registry, dataset, tmp_path, feature_rows, caplog, signed, reason, message
):
    forest = crafted_forest(dataset.train, dataset.train_labels)
    folder = write_model_folder(tmp_path / "crafted", forest, dataset.names, dataset.train)
    version = registry.publish(folder, signed=signed)
    assert registry.versions[version][0].artifact_sha256  # "registered with a matching hash tag"
    with client_for(api_settings, keys.admin, registry) as client:
        wait_ready(client)
        registry.set_alias("champion", version)
        with caplog.at_level(logging.ERROR, logger="mlsys.api.model"):
            outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "failed" and message in outcome["error"]
        _serves_version_1(client, keys, feature_rows)
        text = metrics_text(client)
        assert f'mlsys_model_load_failures_total{{alias="champion",reason="{reason}"}} 1.0' in text
        refusal = next(r for r in caplog.records if r.getMessage().startswith("model load failed"))
        assert message in refusal.error  # type: ignore[attr-defined]


def test_registry_outage_keeps_serving(api_settings, keys, registry):
    with client_for(api_settings, keys.admin, registry) as client:
        wait_ready(client)
        registry.down = True
        outcome = client.post("/admin/reload").json()
        assert outcome["outcome"] == "failed" and "cannot reach the registry" in outcome["error"]
        assert client.get("/readyz").status_code == 200
        assert 'reason="RegistryError"' in metrics_text(client)


def test_an_outage_sets_the_registry_gauge_and_logs_once_each_way(
    api_settings, registry, weak_folder, caplog
):
    swapper, metrics = _swapper(api_settings, registry)
    assert swapper.refresh() is RefreshOutcome.LOADED
    assert metrics.registry.get_sample_value("mlsys_registry_up") == 1
    reached = metrics.registry.get_sample_value("mlsys_registry_last_success_timestamp_seconds")
    assert reached > 0
    registry.down = True
    registry.set_alias("champion", registry.publish(weak_folder))  # promoted during the outage
    with caplog.at_level(logging.INFO, logger="mlsys.api.model"):
        outcomes = [swapper.refresh() for _ in range(3)]
        assert outcomes == [RefreshOutcome.FAILED] * 3
        assert metrics.registry.get_sample_value("mlsys_registry_up") == 0
        assert (
            metrics.registry.get_sample_value("mlsys_registry_last_success_timestamp_seconds")
            == reached
        )
        assert swapper.current is not None and swapper.current.version.version == "1"
        registry.down = False
        assert swapper.refresh() is RefreshOutcome.LOADED
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("registry unreachable; serving the loaded model until it answers") == 1
    assert "model load failed; keeping the current model" not in messages
    assert messages.count("registry reachable again") == 1
    assert metrics.registry.get_sample_value("mlsys_registry_up") == 1
    assert swapper.current is not None and swapper.current.version.version == "2"
    failures = _failures(metrics, "RegistryError")
    assert failures == 3  # every failed poll is counted, only the first logged


def test_the_same_bad_version_is_logged_once_not_once_per_poll(
    api_settings, registry, tmp_path, dataset, caplog
):
    swapper, metrics = _swapper(api_settings, registry)
    swapper.refresh()
    forest = crafted_forest(dataset.train, dataset.train_labels)
    folder = write_model_folder(tmp_path / "crafted", forest, dataset.names, dataset.train)
    registry.set_alias("champion", registry.publish(folder, signed=False))
    with caplog.at_level(logging.ERROR, logger="mlsys.api.model"):
        assert [swapper.refresh() for _ in range(3)] == [RefreshOutcome.FAILED] * 3
    refusals = [r for r in caplog.records if r.getMessage().startswith("model load failed")]
    assert len(refusals) == 1 and "no signed manifest" in refusals[0].error  # type: ignore[attr-defined]
    assert (
        metrics.registry.get_sample_value("mlsys_registry_up") == 1
    )  # the registry answered; the version is bad


def test_an_unreachable_artifact_store_is_its_own_reason(api_settings, registry, weak_folder):
    swapper, metrics = _swapper(api_settings, registry)
    swapper.refresh()
    registry.set_alias("champion", registry.publish(weak_folder))
    registry.artifacts_down = True
    assert swapper.refresh() is RefreshOutcome.FAILED
    assert _failures(metrics, "ArtifactDownloadError") == 1
    assert metrics.registry.get_sample_value("mlsys_registry_up") == 1


def test_download_scratch_is_emptied_once_the_model_is_loaded(
    api_settings, keys, registry, tmp_path
):
    scratch = tmp_path / "scratch"
    settings = api_settings.model_copy(update={"model_cache_dir": scratch})
    with client_for(settings, keys.predict, registry) as client:
        wait_ready(client)
        (download,) = registry.downloads
        assert download.parent == scratch  # the download really went to the scratch folder
        assert scratch.is_dir() and list(scratch.iterdir()) == []


def test_the_shadow_alias_is_loaded_beside_the_champion(api_settings, registry, weak_folder):
    registry.set_alias("challenger", registry.publish(weak_folder))
    settings = api_settings.model_copy(update={"shadow_enabled": True})
    swapper, _ = _swapper(settings, registry)
    swapper.refresh()
    assert swapper.current is not None and swapper.current.version.version == "1"
    assert swapper.shadow is not None and swapper.shadow.version.version == "2"
    registry.aliases.pop("challenger")
    swapper.refresh()
    assert swapper.shadow is None


def test_the_background_thread_polls_until_a_model_arrives(api_settings):
    empty = InMemoryRegistry()
    swapper, _ = _swapper(api_settings.model_copy(update={"load_retry_seconds": 0.01}), empty)
    swapper.start()
    try:
        wait_until(lambda: swapper.last_error is not None, what="a first refresh")
        assert swapper.current is None
    finally:
        swapper.stop()


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


@pytest.mark.gc_freeze
def test_a_swap_freezes_what_lives_on_and_the_next_swap_collects_what_died(
    api_settings, registry, weak_folder
):
    import gc
    import weakref

    held = [_Cyclic()]  # like a model's own reference cycles, alive at the first swap
    swapper, _ = _swapper(api_settings, registry)
    assert swapper.refresh() is RefreshOutcome.LOADED
    assert gc.get_freeze_count() > 0  # the collector no longer walks what the swap kept
    gone = weakref.ref(held.pop())
    gc.collect()
    assert gone() is not None  # frozen: an ordinary collection leaves it
    registry.set_alias("champion", registry.publish(weak_folder))
    assert swapper.refresh() is RefreshOutcome.LOADED
    assert gone() is None  # the next swap unfroze and collected it
    assert gc.get_freeze_count() > 0


@pytest.mark.gc_freeze
def test_the_freeze_can_be_turned_off(api_settings, registry):
    import gc

    gc.unfreeze()
    settings = api_settings.model_copy(update={"gc_freeze": False})
    swapper, _ = _swapper(settings, registry)
    assert swapper.refresh() is RefreshOutcome.LOADED
    assert gc.get_freeze_count() == 0


def test_a_failing_shadow_lookup_neither_flips_the_registry_gauge_nor_floods_the_log(
    api_settings, registry, caplog, monkeypatch
):
    real = registry.resolve_alias

    def resolve(name, alias):
        if alias == api_settings.shadow_alias:
            raise RegistryError("registry answered 500 for the challenger alias")
        return real(name, alias)

    monkeypatch.setattr(registry, "resolve_alias", resolve)
    settings = api_settings.model_copy(update={"shadow_enabled": True})
    swapper, metrics = _swapper(settings, registry)
    with caplog.at_level(logging.INFO, logger="mlsys.api.model"):
        for _ in range(5):
            swapper.refresh()
    messages = [r.getMessage() for r in caplog.records]
    assert metrics.registry.get_sample_value("mlsys_registry_up") == 1
    assert not any("registry unreachable" in m or "reachable again" in m for m in messages)
    assert messages.count("model load failed; keeping the current model") == 1
    labels = {"alias": api_settings.shadow_alias, "reason": "RegistryError"}
    assert metrics.registry.get_sample_value("mlsys_model_load_failures_total", labels) == 5


def test_a_model_whose_column_names_the_fast_decoder_cannot_carry_is_still_served(
    api_settings, dataset, tmp_path, champion_auc, keys
):
    names = list(dataset.names)
    names[0] = 'radius "mean"'
    folder = write_model_folder(tmp_path / "quoted", fit(dataset), names, dataset.train)
    registry = InMemoryRegistry()
    registry.set_alias("champion", registry.publish(folder, {"roc_auc": champion_auc}))
    with client_for(api_settings, keys.predict, registry) as client:
        wait_ready(client)
        row = dict(zip(names, dataset.train[0].tolist(), strict=True))
        answer = client.post("/v1/predict", json={"rows": [row]})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 1
