"""The workloads section of the stack config: images, the canary, API scaling, training."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra import config_rules as rules
from infra.config_rules import ConfigError

# key -> (kind, required). Merged into infra.config.KEYS; Pulumi.yaml declares each.
# canaryWeight and canaryImage are also written by the release tools (infra/release).
WORKLOAD_KEYS: dict[str, tuple[str, bool]] = {
    "canaryWeight": ("integer", False),
    "canaryImage": ("string", False),
    "apiMinReplicas": ("integer", True),
    "apiMaxReplicas": ("integer", True),
    "airflowImage": ("string", True),
    "trainingSchedule": ("string", True),
}
# Five cron fields, or one of Airflow's presets; Airflow itself rejects anything subtler.
SCHEDULE = re.compile(r"^(@(hourly|daily|weekly|monthly|yearly)|(\S+\s+){4}\S+)$")
PROD_MIN_API_REPLICAS = 3  # one per zone: an AZ loss leaves two serving


@dataclass(frozen=True, kw_only=True)
class Canary:
    image: str
    weight: int  # 1-100: the share of API requests the canary answers


@dataclass(frozen=True, kw_only=True)
class WorkloadsConfig:
    environment: str
    app_image: str  # the stable prediction API
    training_image: str
    canary: Canary | None  # None: no canary Deployment, all traffic to stable
    api_min_replicas: int
    api_max_replicas: int
    airflow_image: str  # apache/airflow with the cncf.kubernetes and amazon providers
    training_schedule: str

    @property
    def mlflow_replicas(self) -> int:
        return 1 if self.environment == "dev" else 2

    @property
    def airflow_replicas(self) -> int:
        """API server and scheduler replicas (both are active-active in Airflow 3)."""
        return 1 if self.environment == "dev" else 2


def _image(name: str, value: Any, strict: bool, environment: str) -> str:
    image = rules.text(name, value)
    if strict:
        image = rules.matching(
            name,
            image,
            rules.IMAGE_WITH_DIGEST,
            f"an image pinned by digest (registry/repo@sha256:...) in {environment}",
        )
    return image


def _canary(raw: Mapping[str, Any], strict: bool, environment: str) -> Canary | None:
    weight = rules.integer("canaryWeight", raw.get("canaryWeight", 0), 0, 100)
    image = raw.get("canaryImage")
    if weight == 0:
        return None  # weight 0 removes the canary, whatever image is still configured
    if image is None:
        raise ConfigError(
            f"{rules.key('canaryWeight')} is {weight} but {rules.key('canaryImage')} is unset"
        )
    return Canary(image=_image("canaryImage", image, strict, environment), weight=weight)


def parse_workloads(
    raw: Mapping[str, Any], environment: str, app_image: str, training_image: str
) -> WorkloadsConfig:
    """Validate the workload keys of ``raw`` (presence was checked with the other keys)."""
    strict = environment in ("staging", "prod")
    low = rules.integer("apiMinReplicas", raw["apiMinReplicas"], 1, 100)
    high = rules.integer("apiMaxReplicas", raw["apiMaxReplicas"], 1, 100)
    if low > high:
        raise ConfigError(
            f"{rules.key('apiMinReplicas')} ({low}) must not exceed "
            f"{rules.key('apiMaxReplicas')} ({high})"
        )
    if environment == "prod" and low < PROD_MIN_API_REPLICAS:
        raise ConfigError(
            f"{rules.key('apiMinReplicas')} must be >= {PROD_MIN_API_REPLICAS} in prod"
        )
    schedule = rules.text("trainingSchedule", raw["trainingSchedule"])
    if not SCHEDULE.match(schedule):
        raise ConfigError(
            f"{rules.key('trainingSchedule')} is {schedule!r}; expected a cron expression "
            "(five fields) or @hourly, @daily, @weekly, @monthly, @yearly"
        )
    return WorkloadsConfig(
        environment=environment,
        app_image=app_image,
        training_image=training_image,
        canary=_canary(raw, strict, environment),
        api_min_replicas=low,
        api_max_replicas=high,
        airflow_image=_image("airflowImage", raw["airflowImage"], strict, environment),
        training_schedule=schedule,
    )
