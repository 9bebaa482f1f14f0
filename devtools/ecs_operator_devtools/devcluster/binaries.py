"""Build the control-plane binaries from the Go wrapper modules in devcluster/, once.

Every binary comes from a Go module through the module proxy (no Docker, no downloads of
prebuilt binaries). Builds land in a versioned cache outside the repository,
``~/.cache/ecs-operator/bin/<module>-<version>-<hash>/``, where the hash covers the wrapper
module's go.mod, go.sum and sources: a build is skipped when its cache entry is complete, and
a change to a pin builds a fresh entry instead of mixing versions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import DevclusterError

KUBE_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.22.0"
#: The versions of what Flux and Argo CD judge health with: sigs.k8s.io/cli-utils's kstatus,
#: and the Lua interpreter Argo CD embeds (github.com/yuin/gopher-lua, as Argo CD pins it).
KSTATUS_VERSION = "v0.37.2"
GOPHER_LUA_VERSION = "v1.1.1"
#: The ECS client of the AWS SDK for Go v2, the one terraform-provider-aws and Go deploy tools
#: (ecspresso, canarycage) call ECS with.
AWS_SDK_GO_ECS_VERSION = "v1.106.0"
#: The cluster DNS of devclusters with real nodes (network.py).
COREDNS_VERSION = "v1.15.0"
#: The container runtime of the real nodes (realnode.py); runc and the CNI plugins are Debian's.
CONTAINERD_VERSION = "v2.4.2"

_K8S_VERSION_PKG = "k8s.io/component-base/version"
_CLIENT_VERSION_PKG = "k8s.io/client-go/pkg/version"


def _kube_ldflags() -> str:
    """Stamp the version as upstream's hack/lib/version.sh does: without it /version reports
    v0.0.0-master and helm's kubeVersion checks and kubectl's skew warnings misbehave."""
    major, minor = KUBE_VERSION.lstrip("v").split(".")[:2]
    stamps = {
        "gitVersion": KUBE_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "gitCommit": "0" * 40,
        "buildDate": "2026-01-01T00:00:00Z",
    }
    flags = ["-s", "-w"]
    for package in (_K8S_VERSION_PKG, _CLIENT_VERSION_PKG):
        flags += [f"-X {package}.{key}={value}" for key, value in stamps.items()]
    return " ".join(flags)


def _helm_ldflags() -> str:
    """Stamp helm's version, and the Kubernetes version `helm template` and `helm lint` assume
    without a cluster (upstream's Makefile derives it from client-go; unstamped it is 1.20, and
    charts requiring a newer kubeVersion fail to template)."""
    major, minor = KUBE_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w", f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}"]
    for package in ("helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"):
        flags += [f"-X {package}.k8sVersionMajor={major}", f"-X {package}.k8sVersionMinor={minor}"]
    return " ".join(flags)


@dataclass(frozen=True)
class GoModule:
    """One wrapper module under devcluster/ and the binaries it builds."""

    directory: str
    version: str
    packages: tuple[str, ...]
    binaries: tuple[str, ...]
    ldflags: str = "-s -w"
    extra_flags: tuple[str, ...] = ()
    #: the cache entry's name when one module builds several entries (other flags or tags)
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.directory


MODULES = (
    GoModule(
        "kube",
        KUBE_VERSION,
        packages=tuple(
            f"k8s.io/kubernetes/cmd/{name}"
            for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
        binaries=("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"),
        ldflags=_kube_ldflags(),
        extra_flags=("-pgo=off", "-tags", "selinux,notest"),
    ),
    GoModule("etcd", ETCD_VERSION, packages=(".",), binaries=("etcd",)),
    GoModule("kwok", KWOK_VERSION, packages=("sigs.k8s.io/kwok/cmd/kwok",), binaries=("kwok",)),
    GoModule(
        "helm",
        HELM_VERSION,
        packages=("helm.sh/helm/v3/cmd/helm",),
        binaries=("helm",),
        ldflags=_helm_ldflags(),
    ),
)

#: Test tools, built the same way on first use (``tool``) rather than by ``ensure_all``: the
#: GitOps tests run our objects through the code Flux and Argo CD judge health with, and the
#: ECS API tests call the API through the Go SDK's ECS client.
TOOLS = (
    GoModule("kstatus", KSTATUS_VERSION, packages=(".",), binaries=("kstatus",)),
    GoModule("argolua", GOPHER_LUA_VERSION, packages=(".",), binaries=("argolua",)),
    GoModule("ecsgo", AWS_SDK_GO_ECS_VERSION, packages=(".",), binaries=("ecsgo",)),
)

#: The cluster network of real nodes (network.py), built on first use of real nodes rather than
#: by ``ensure_all``: CoreDNS with the few plugins cluster DNS needs (kube-proxy comes from the
#: kube module with the kubelet).
NETWORK_MODULES = (GoModule("coredns", COREDNS_VERSION, packages=(".",), binaries=("coredns",)),)
#: What a real node runs (realnode.py), built on first use of ``--real-nodes``: kubelet and
#: kube-proxy from the control plane's module (same pins, flags and version stamps), containerd
#: with ctr, and the runc shim (``no_grpc``: it speaks ttrpc only, a third of the size).
_CONTAINERD_LDFLAGS = (
    f"-s -w -X github.com/containerd/containerd/v2/version.Version={CONTAINERD_VERSION}"
)
NODE_MODULES = (
    GoModule(
        "kube",
        KUBE_VERSION,
        packages=("k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy"),
        binaries=("kubelet", "kube-proxy"),
        ldflags=_kube_ldflags(),
        extra_flags=("-pgo=off", "-tags", "selinux,notest"),
        name="kube-node",
    ),
    GoModule(
        "containerd",
        CONTAINERD_VERSION,
        packages=tuple(
            f"github.com/containerd/containerd/v2/cmd/{name}" for name in ("containerd", "ctr")
        ),
        binaries=("containerd", "ctr"),
        ldflags=_CONTAINERD_LDFLAGS,
        extra_flags=("-tags", "urfave_cli_no_docs no_btrfs no_devmapper"),
    ),
    GoModule(
        "containerd",
        CONTAINERD_VERSION,
        packages=("github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",),
        binaries=("containerd-shim-runc-v2",),
        ldflags=_CONTAINERD_LDFLAGS,
        extra_flags=("-tags", "urfave_cli_no_docs no_grpc"),
        name="containerd-shim",
    ),
)

_COMPLETE = ".complete"
#: A superseded cache entry is removed once no build has used it for this long: other
#: checkouts (worktrees on older pins) keep using theirs meanwhile.
_KEEP_SUPERSEDED = 7 * 24 * 3600


def repo_root() -> Path:
    """The source checkout this package runs from (the devcluster needs its Go modules)."""
    return Path(__file__).resolve().parents[3]


def cache_root() -> Path:
    """``$ECS_OPERATOR_CACHE`` or ``~/.cache/ecs-operator``: kept across checkouts and runs."""
    configured = os.environ.get("ECS_OPERATOR_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "ecs-operator"


def module_dir(module: GoModule) -> Path:
    return repo_root() / "devcluster" / module.directory


def cache_dir(module: GoModule) -> Path:
    """The versioned cache entry of a module: its version plus a hash of its pins."""
    digest = hashlib.sha256()
    source = module_dir(module)
    for path in sorted(source.iterdir()):
        if path.name in ("go.mod", "go.sum") or path.suffix == ".go":
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(module.ldflags.encode() + " ".join(module.extra_flags).encode())
    return cache_root() / "bin" / f"{module.label}-{module.version}-{digest.hexdigest()[:12]}"


def is_built(module: GoModule) -> bool:
    return (cache_dir(module) / _COMPLETE).exists()


def find_go() -> str:
    """The go command, or a clear message saying what to install."""
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None
    )
    if go is None:
        raise DevclusterError(
            "Go is needed to build the local control plane (etcd, kube-apiserver, "
            "kube-controller-manager, kube-scheduler, kwok, helm) but `go` is not on PATH. "
            "Install Go 1.26 or newer (https://go.dev/doc/install, or your distribution's "
            "golang package) and run again."
        )
    return go


def build(module: GoModule, log: bool = True) -> Path:
    """Build a module's binaries into its cache entry (atomically) and return the entry."""
    target = cache_dir(module)
    if is_built(module):
        os.utime(target / _COMPLETE)  # in use: not to be pruned as superseded
        return target
    go = find_go()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{module.label}-", dir=target.parent))
    command = [
        go,
        "build",
        "-trimpath",
        *module.extra_flags,
        "-ldflags",
        module.ldflags,
        "-o",
        f"{staging}/",
        *module.packages,
    ]
    started = time.monotonic()
    if log:
        print(f"building {module.label} {module.version} (first time only) ...", file=sys.stderr)
    env = {**os.environ, "CGO_ENABLED": "0"}
    result = subprocess.run(
        command, cwd=module_dir(module), env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise DevclusterError(f"building {module.label} failed:\n{result.stderr[-4000:]}")
    (staging / _COMPLETE).write_text(
        f"{module.version} built in {time.monotonic() - started:.0f}s\n"
    )
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    _prune_superseded(module, target)
    if log:
        print(f"built {module.label} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return target


def _prune_superseded(module: GoModule, target: Path) -> None:
    """Free the disk of this module's entries for older pins that nothing used for a week."""
    now = time.time()
    for stale in target.parent.glob(f"{module.label}-v*"):
        complete = stale / _COMPLETE
        try:
            unused_for = now - complete.stat().st_mtime
        except OSError:
            continue
        if stale != target and unused_for > _KEEP_SUPERSEDED:
            shutil.rmtree(stale, ignore_errors=True)


def _ensure(modules: tuple[GoModule, ...], log: bool) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for module in modules:
        directory = build(module, log=log)
        paths.update({name: directory / name for name in module.binaries})
    return paths


def ensure_all(log: bool = True) -> dict[str, Path]:
    """Every binary the devcluster needs, building what the cache lacks: name -> path."""
    return _ensure(MODULES, log)


def ensure_node(log: bool = True) -> dict[str, Path]:
    """Every binary a real node needs (:data:`NODE_MODULES`), building what the cache lacks."""
    return _ensure(NODE_MODULES, log)


def ensure_network(log: bool = True) -> dict[str, Path]:
    """The binaries of :data:`NETWORK_MODULES`, building what the cache lacks: name -> path."""
    return _ensure(NETWORK_MODULES, log)


def tool(name: str, log: bool = True) -> Path:
    """The path of a test tool of :data:`TOOLS`, building it if the cache lacks it."""
    module = next(m for m in TOOLS if name in m.binaries)
    return build(module, log=log) / name


def bin_dirs() -> list[Path]:
    """The cache entries of all modules (for PATH), whether built or not."""
    return [cache_dir(module) for module in MODULES]
