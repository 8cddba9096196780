"""The Kubernetes service accounts that get AWS access through EKS Pod Identity."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    service_account: str


# Workloads: their roles live in WorkloadIdentities, their pods in later layers.
MLFLOW = ServiceAccountRef("mlflow", "mlflow")
TRAINING = ServiceAccountRef("airflow", "ml-training")
SERVING = ServiceAccountRef("serving", "prediction-api")
VELERO = ServiceAccountRef("velero", "velero")
VAULT = ServiceAccountRef("vault", "vault")
# The Airflow chart's components share this one service account (set in its values).
AIRFLOW = ServiceAccountRef("airflow", "airflow")
# Platform: cert-manager's controller (the chart's account), for DNS-01 through Route 53.
CERT_MANAGER = ServiceAccountRef("cert-manager", "cert-manager")
# Platform: the Job that creates the application databases and users.
DB_BOOTSTRAP = ServiceAccountRef("platform-db", "db-bootstrap")
# Platform: the hourly logical backup of the registry database (infra/platform/operations).
DB_BACKUP = ServiceAccountRef("platform-db", "db-backup")
# Platform: postgres-exporter signs in to RDS as the read-only monitoring user (IAM auth).
POSTGRES_EXPORTER = ServiceAccountRef("monitoring", "postgres-exporter")
# Managed add-ons: EKS installs these service accounts; the cluster's add-on table binds them.
VPC_CNI = ServiceAccountRef("kube-system", "aws-node")
EBS_CSI = ServiceAccountRef("kube-system", "ebs-csi-controller-sa")
