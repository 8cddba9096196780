"""Which Kubernetes service accounts get AWS access, and where they live."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    service_account: str


MLFLOW = ServiceAccountRef("mlflow", "mlflow")
TRAINING = ServiceAccountRef("airflow", "ml-training")
SERVING = ServiceAccountRef("serving", "prediction-api")
VELERO = ServiceAccountRef("velero", "velero")
VAULT = ServiceAccountRef("vault", "vault")
EBS_CSI = ServiceAccountRef("kube-system", "ebs-csi-controller-sa")
