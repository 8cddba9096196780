"""The production shape on one machine: PostgreSQL, an S3 API, MLflow, the API, training."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx
import psycopg2
from mlflow import MlflowClient
from mypy_boto3_s3 import S3Client

from app.model_contract import LOCAL_SIGNING_PUBLIC_KEY_FILE
from tests.drills.fault_proxy import FaultProxy, free_port
from tests.drills.processes import DrillError, Service, answers, wait_until
from tests.postgres import unavailable

BIN = Path(sys.executable).parent
ARTIFACTS_BUCKET = "mlflow-artifacts"
BACKUPS_BUCKET = "backups"
MODEL_NAME = "breast-cancer-classifier"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# MLflow's own HTTP client retries with exponential backoff; these bound a training run
# against a dead server to seconds (MLflow's defaults: 7 retries, factor 2, 120 s timeout).
TRAINING_RETRY_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; a root drill runs them as the postgres user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PrivatePostgres:
    """A PostgreSQL cluster of the drill's own, so stopping it disturbs nobody else."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="mlsys-drill-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        subprocess.run(
            _as_postgres(
                [
                    "initdb",
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=300,
        )
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._ctl("-o", options, "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Stack:
    """Every endpoint of one drill; proxies sit where the drill injects latency or loss."""

    workdir: Path
    postgres: PrivatePostgres
    pg_port: int
    database: str
    moto: Service
    s3_proxy: FaultProxy
    mlflow: Service
    mlflow_port: int
    registry_proxy: FaultProxy  # what the API reaches MLflow through
    pg_proxy: FaultProxy | None = None  # what MLflow reaches PostgreSQL through
    apis: list[ApiProcess] = field(default_factory=list)
    body: dict[str, object] = field(default_factory=dict)

    @property
    def tracking_url(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def db_uri(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.pg_port}/{self.database}"

    @property
    def home(self) -> Path:
        return self.workdir / "training-home"

    @property
    def key_file(self) -> Path:
        return self.workdir / "drill-key"

    def s3(self) -> S3Client:
        return s3_client(self.s3_direct_url)

    @property
    def s3_direct_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_proxy.target[1]}"

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_url, registry_uri=self.tracking_url)

    def train(self, *overrides: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``python -m training run`` against the tracking server, as the DAG runs it."""
        argv = [sys.executable, "-m", "training", "run"]
        for override in overrides:
            argv += ["--set", override]
        env = {
            **os.environ,
            **TRAINING_RETRY_ENV,
            "MLFLOW_TRACKING_URI": self.tracking_url,
            "MLSYS_HOME": str(self.home),
        }
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def api(self, name: str = "api") -> ApiProcess:
        """A prediction API process (not started) reading the registry through the proxy."""
        env = {
            "MLSYS_HOME": str(self.workdir / f"{name}-home"),
            "MLSYS_API_TRACKING_URI": self.registry_proxy.url,
            "MLSYS_API_API_KEYS_FILE": str(self.workdir / "api-keys"),
            "MLSYS_API_MODEL_SIGNING_PUBLIC_KEY_FILE": str(
                self.home / LOCAL_SIGNING_PUBLIC_KEY_FILE
            ),
            "MLSYS_API_POLL_INTERVAL_SECONDS": "1",
            "MLSYS_API_LOAD_RETRY_SECONDS": "1",
            "MLSYS_API_SHUTDOWN_DRAIN_SECONDS": "2",
            # The drill measures the service, not the per-key limits in front of it.
            "MLSYS_API_RATE_LIMIT_PER_SECOND": "100000",
            "MLSYS_API_RATE_LIMIT_BURST": "100000",
            "MLSYS_API_RATE_LIMIT_ROWS_PER_SECOND": "1000000",
            "MLSYS_API_RATE_LIMIT_ROWS_BURST": "1000000",
            "MLSYS_API_MAX_CONNECTIONS": "1000",
        }
        service = ApiProcess(name, self.workdir, env)
        self.apis.append(service)
        return service

    def request_body(self) -> dict[str, object]:
        """A /v1/predict body from a holdout row of the first training run (kept, since a
        later run, such as one during an outage, starts its work folder afresh)."""
        if not self.body:
            lines = (self.home / "work" / "holdout.csv").read_text().splitlines()
            row = dict(zip(lines[0].split(","), map(float, lines[1].split(",")), strict=True))
            row.pop("target", None)
            self.body["rows"] = [row]
        return self.body


class ApiProcess(Service):
    """``python -m app`` on free ports, with the drill's key."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        port, metrics_port = free_port(), free_port()
        env = {**env, "MLSYS_API_PORT": str(port), "MLSYS_API_METRICS_PORT": str(metrics_port)}
        self.url = f"http://127.0.0.1:{port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.key = (workdir / "drill-key").read_text().strip()
        super().__init__(
            name, [sys.executable, "-m", "app"], f"{self.url}/healthz", workdir / f"{name}.log", env
        )

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def s3_client(endpoint: str) -> S3Client:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=AWS_ENV["AWS_DEFAULT_REGION"],
    )


def _make_key(workdir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app.keys",
            "create",
            "--id",
            "drill",
            "--scopes",
            "predict,admin",
            "--append",
            str(workdir / "api-keys"),
            "--key-out",
            str(workdir / "drill-key"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


SERVER_PROGRAMS = ("initdb", "pg_ctl", "pg_dump", "pg_restore", "psql")


def require_postgres_server() -> None:
    """PostgreSQL's server programs on PATH, found in Debian's and Ubuntu's versioned folder
    (/usr/lib/postgresql/<major>/bin) when they are not; else ``unavailable``."""
    if all(shutil.which(name) for name in SERVER_PROGRAMS):
        return
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    for folder in reversed(folders):
        if all((folder / name).exists() for name in SERVER_PROGRAMS):
            os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ['PATH']}"
            return
    missing = [name for name in SERVER_PROGRAMS if shutil.which(name) is None]
    unavailable(f"the drills start their own PostgreSQL and need {', '.join(missing)}")


def execute(port: int, sql: str, database: str = "postgres") -> None:
    connection = psycopg2.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=database, connect_timeout=5
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@contextmanager
def stack(workdir: Path, *, pg_through_proxy: bool = False) -> Iterator[Stack]:
    """Start PostgreSQL, moto, the proxies and MLflow; stop all of them after."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update(AWS_ENV)
    database = "mlflow"
    with ExitStack() as cleanup:
        pg_port = free_port()
        postgres = PrivatePostgres(pg_port)
        cleanup.callback(postgres.remove)
        postgres.init()
        execute(pg_port, f"CREATE DATABASE {database}")
        moto_port = free_port()
        moto = Service(
            "moto",
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
            f"http://127.0.0.1:{moto_port}/moto-api/",
            workdir / "moto.log",
        )
        cleanup.enter_context(moto)
        s3_proxy = FaultProxy(moto_port, free_port()).start()
        cleanup.callback(s3_proxy.close)
        s3 = s3_client(f"http://127.0.0.1:{moto_port}")
        for bucket in (ARTIFACTS_BUCKET, BACKUPS_BUCKET):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        pg_proxy = None
        backend_port = pg_port
        if pg_through_proxy:
            pg_proxy = FaultProxy(pg_port, free_port()).start()
            cleanup.callback(pg_proxy.close)
            backend_port = pg_proxy.port
        mlflow_port = free_port()
        mlflow = Service(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "server",
                "--backend-store-uri",
                f"postgresql+psycopg2://postgres@127.0.0.1:{backend_port}/{database}",
                "--artifacts-destination",
                f"s3://{ARTIFACTS_BUCKET}/",
                "--host",
                "127.0.0.1",
                "--port",
                str(mlflow_port),
                "--workers",
                "1",
            ],
            f"http://127.0.0.1:{mlflow_port}/health",
            workdir / "mlflow.log",
            {**AWS_ENV, "MLFLOW_S3_ENDPOINT_URL": s3_proxy.url},
        )
        cleanup.enter_context(mlflow)
        registry_proxy = FaultProxy(mlflow_port, free_port()).start()
        cleanup.callback(registry_proxy.close)
        _make_key(workdir)
        drill = Stack(
            workdir=workdir,
            postgres=postgres,
            pg_port=pg_port,
            database=database,
            moto=moto,
            s3_proxy=s3_proxy,
            mlflow=mlflow,
            mlflow_port=mlflow_port,
            registry_proxy=registry_proxy,
            pg_proxy=pg_proxy,
        )
        try:
            yield drill
        finally:
            for api in drill.apis:
                api.stop()


def train_versions(drill: Stack) -> tuple[str, str]:
    """Two signed versions of the model (different C); returns their numbers, oldest first."""
    versions = []
    for override in ("model.params.C=1.0", "model.params.C=0.5"):
        done = drill.train(override)
        if done.returncode != 0:
            raise DrillError(f"training failed ({done.returncode}):\n{done.stderr[-3000:]}")
        found = drill.client().search_model_versions(f"name='{MODEL_NAME}'")
        versions = sorted((str(v.version) for v in found), key=int)
    if len(versions) < 2:
        raise DrillError(f"expected two versions, the registry holds {versions}")
    drill.request_body()
    return versions[0], versions[1]


def served_version(api: ApiProcess) -> str | None:
    response = httpx.get(f"{api.url}/v1/model", headers=api.headers(), timeout=5)
    return str(response.json()["version"]) if response.status_code == 200 else None


def wait_serving(api: ApiProcess, version: str, timeout: float = 60) -> float:
    """Seconds until ``api`` serves ``version``."""
    return wait_until(lambda: served_version(api) == version, timeout, f"{api.name} on v{version}")


def predict_ok(api: ApiProcess, body: dict[str, object]) -> bool:
    response = httpx.post(f"{api.url}/v1/predict", json=body, headers=api.headers(), timeout=10)
    return response.status_code == 200


def metric(api: ApiProcess, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    text = httpx.get(api.metrics_url, timeout=5).text
    total = 0.0
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if line.startswith("#") or head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def ready(api: ApiProcess) -> bool:
    return answers(f"{api.url}/readyz")
