"""MLflow's objects: authenticated server, proxied artifacts, migrations, route and policies."""

from __future__ import annotations

from infra.platform.database_bootstrap import DATABASE_CLIENT_LABEL
from infra.platform.vault.policies import ROLES
from infra.workloads import mlflow_objects as ml

SETTINGS = ml.MlflowSettings(
    image="mlflow@sha256:" + "1" * 64,
    aws_cli_image="aws-cli@sha256:" + "2" * 64,
    region="eu-west-1",
    host="mlflow.example.com",
    vpc_cidr="10.30.0.0/16",
    artifacts_bucket="artifacts-bucket",
    replicas=2,
)


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_the_server_authenticates_proxies_artifacts_and_checks_hosts():
    args = ml.server_args(SETTINGS)
    assert _arg(args, "--app-name") == "basic-auth"
    assert "--serve-artifacts" in args
    assert _arg(args, "--artifacts-destination") == "s3://artifacts-bucket/artifacts"
    assert _arg(args, "--default-artifact-root") == "mlflow-artifacts:/"
    hosts = _arg(args, "--allowed-hosts").split(",")
    assert "mlflow.example.com" in hosts and "mlflow.mlflow.svc:5000" in hosts
    assert "10.30.*" in hosts and "*" not in hosts
    assert _arg(args, "--backend-store-uri").startswith("postgresql://$(DB_USER)@")


def test_the_deployment_is_hardened_and_reaches_the_database_through_its_group():
    deployment = ml.build_deployment(SETTINGS)
    assert deployment["spec"]["replicas"] == 2
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"].items() >= DATABASE_CLIENT_LABEL.items()
    pod = template["spec"]
    assert pod["serviceAccountName"] == "mlflow" and pod["automountServiceAccountToken"] is False
    main = pod["containers"][0]
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    env = {e["name"]: e for e in main["env"]}
    admin = env["MLFLOW_AUTH_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert admin["name"] == ml.ADMIN.secret
    assert env["MLFLOW_AUTH_CONFIG_PATH"]["value"] == ml.AUTH_CONFIG
    assert [c["name"] for c in pod["initContainers"]] == ["db-token"]


def test_migrations_run_in_a_job_named_after_the_image():
    job = ml.build_migration_job(SETTINGS)
    assert job["metadata"]["name"] == ml.migration_job_name(SETTINGS.image)
    assert ml.migration_job_name("other@sha256:" + "3" * 64) != job["metadata"]["name"]
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "mlflow db upgrade" in script and "SqlAlchemyStore().init_db" in script
    assert "$(" not in script  # shell expansion, not Kubernetes'
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_vault_deliveries_use_the_mlflow_role_and_its_namespace():
    for delivery in (ml.ADMIN, ml.SCRAPE, ml.DATABASE):
        assert delivery.role == "mlflow" and ROLES["mlflow"].namespace == ml.NAMESPACE


def test_the_route_policy_and_monitor():
    route = ml.build_route("mlflow.example.com")["spec"]
    assert route["parentRefs"][0]["sectionName"] == "https-mlflow"
    assert route["rules"][0]["backendRefs"] == [{"name": "mlflow", "port": 5000, "weight": 100}]
    policy = ml.build_network_policy()["spec"]
    callers = {
        r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for r in policy["ingress"]
    }
    assert callers == {"gateway", "monitoring", "serving", "airflow"}
    assert {p["port"] for r in policy["egress"] for p in r["ports"]} >= {443, 5432}
    monitor = ml.build_service_monitor()["spec"]["endpoints"][0]
    assert {"action": "replace", "targetLabel": "job", "replacement": "mlflow"} in monitor[
        "relabelings"
    ]
    assert monitor["basicAuth"]["password"]["name"] == ml.SCRAPE.secret
