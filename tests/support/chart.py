"""The Helm chart on the devcluster, and the operator running with the chart's identity.

kwok plays the chart's pod without running it, so the tests run the operator as a process
with what that pod would have: a token of the chart's ServiceAccount (the TokenRequest API, as
the kubelet mounts it) and the arguments the chart's Deployment passes.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml

from tests.support.kube import kubectl, wait_for

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "ecs-operator"
RELEASE = "ecs-operator"
SYSTEM = "ecs-operator-system"
ACCOUNT = f"system:serviceaccount:{SYSTEM}:{RELEASE}"
#: the Deployment's flags that the test harness sets itself (ports free on this machine)
#: the ports the harness chooses (free ones); the task metadata endpoint is not served (its
#: URL is still rendered): a fixed port on the host would clash with another lane's operator
HARNESS_FLAGS = ("--metrics-port", "--health-port", "--task-metadata-port")


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The devcluster's helm (on PATH via the devcluster fixture)."""
    result = subprocess.run(["helm", *args], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


def set_flags(values: dict[str, str]) -> list[str]:
    return [flag for key, value in values.items() for flag in ("--set", f"{key}={value}")]


def install(values: dict[str, str] | None = None) -> None:
    """The chart installed as release ecs-operator (replacing a previous run's release)."""
    uninstall()
    helm(
        "install", RELEASE, str(CHART), "--namespace", SYSTEM, "--create-namespace",
        "--set", "image.tag=test", *set_flags(values or {}), "--wait", "--timeout", "90s",
    )  # fmt: skip
    wait_for(_task_definitions_admitted, 60, "the chart's admission policy to admit creates")


#: a TaskDefinition the API server is asked to create without storing it (a server dry run)
_PROBE = {
    "apiVersion": "ecs-operator.dev/v1alpha1",
    "kind": "TaskDefinition",
    "metadata": {"name": "admission-probe", "namespace": SYSTEM},
    "spec": {
        "family": "admission-probe",
        "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}],
    },
}


def _task_definitions_admitted() -> bool:
    """Whether a TaskDefinition create gets through admission. The chart's in-use finalizer
    policy (Kubernetes 1.36+, a MutatingAdmissionPolicy) is applied by a type converter that
    learns the CRDs' schemas a while after the policy appears; until then every TaskDefinition
    create is refused with 503 ("Resource kind ... not found. There can be a delay ..."),
    which failed a test's first write in two fresh-clone CI runs."""
    created = kubectl(
        "create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(_PROBE), check=False
    )
    return created.returncode == 0


def uninstall() -> None:
    if helm("status", RELEASE, "--namespace", SYSTEM, check=False).returncode == 0:
        helm("uninstall", RELEASE, "--namespace", SYSTEM, "--wait")


def operator_args() -> list[str]:
    """The installed Deployment's ``ecs-operator`` arguments, less the ports (HARNESS_FLAGS)."""
    manifest = helm("get", "manifest", RELEASE, "--namespace", SYSTEM).stdout
    deployment = next(d for d in yaml.safe_load_all(manifest) if d and d["kind"] == "Deployment")
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "run", args
    kept, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg in HARNESS_FLAGS:
            skip = True
        else:
            kept.append(arg)
    return kept


def service_account_kubeconfig(admin: Path, target: Path) -> Path:
    """A kubeconfig for the chart's ServiceAccount: the admin's server and CA, a token from
    the TokenRequest API (what the kubelet mounts into the operator's pod)."""
    token = kubectl("create", "token", RELEASE, "-n", SYSTEM, "--duration", "1h").stdout.strip()
    cluster = yaml.safe_load(admin.read_text())["clusters"][0]["cluster"]
    ca = (
        cluster.get("certificate-authority-data")
        or base64.b64encode(Path(cluster["certificate-authority"]).read_bytes()).decode()
    )
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "dev",
                "cluster": {"server": cluster["server"], "certificate-authority-data": ca},
            }
        ],
        "users": [{"name": RELEASE, "user": {"token": token}}],
        "contexts": [{"name": RELEASE, "context": {"cluster": "dev", "user": RELEASE}}],
        "current-context": RELEASE,
    }
    target.write_text(yaml.safe_dump(config))
    target.chmod(0o600)
    return target
