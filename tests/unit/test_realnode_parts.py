"""The real nodes' pieces that need no root: rendered configs, task images, the host claim,
and the parsing behind teardown and ``leftovers``."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ecs_operator import nodes
from ecs_operator_devtools.devcluster import (
    hostclaim,
    hostclean,
    images,
    network,
    nodeconfig,
    realnode,
)
from ecs_operator_devtools.devcluster.errors import DevclusterError
from ecs_operator_devtools.devcluster.nodeconfig import NodePaths

#: a state directory as deep as the CLI's default one under a long home
DEEP = Path("/home/someone-with-a-long-name/.cache/ecs-operator/devcluster/default")


def test_containerd_config_is_private_and_carries_the_oom_fix() -> None:
    node = NodePaths(DEEP, 1)
    config = nodeconfig.containerd_config(node, Path("/cache/containerd-shim-runc-v2"))
    assert tomllib.loads(nodeconfig.render_toml(config)) == config
    runtime = config["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True
    assert runtime["netns_mounts_under_state_dir"] is True
    runc = runtime["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is False
    assert runc["options"]["BinaryName"] == "/usr/sbin/runc"
    assert config["plugins"]["io.containerd.cri.v1.images"]["pinned_images"] == {
        "sandbox": images.PAUSE
    }
    for path in (config["root"], config["state"], runtime["cni"]["conf_dir"]):
        assert path.startswith(f"{DEEP}/realnodes/real-1/")
    shim_dir = config["plugins"]["io.containerd.shim.v1.manager"]["socket_dir"]
    # containerd names shim sockets by 64 hex digits; a unix socket path has 107 bytes at most
    assert len(f"{shim_dir}/{'0' * 64}") < 108
    assert config["grpc"]["address"] == str(node.socket)


def test_every_node_gets_its_own_network_cgroup_root_and_ports_free_names() -> None:
    first, second = NodePaths(DEEP, 0), NodePaths(DEEP, 1)
    conflists = [nodeconfig.cni_conflist(n) for n in (first, second)]
    bridges = [c["plugins"][0]["bridge"] for c in conflists]
    subnets = [c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"] for c in conflists]
    assert subnets == ["10.85.0.0/24", "10.85.1.0/24"]
    assert len(set(bridges)) == 2 and all(len(b) <= 15 for b in bridges)  # IFNAMSIZ
    assert conflists[0]["plugins"][0]["ipam"]["dataDir"].startswith(str(first.directory))
    assert first.cgroup_root != second.cgroup_root


def test_kubelet_config_uses_cgroupfs_on_v1_private_dirs_and_the_cluster_dns() -> None:
    node = NodePaths(DEEP, 0)
    config = nodeconfig.kubelet_config(node, "192.0.2.2", 10250, 10248, Path("/pki/ca.crt"))
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["failCgroupV1"] is False
    assert config["cgroupRoot"] == node.cgroup_root
    assert config["clusterDNS"] == [network.CLUSTER_DNS_IP]
    assert config["clusterDomain"] == "cluster.local"
    assert config["containerRuntimeEndpoint"] == f"unix://{node.socket}"
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authentication"]["x509"] == {"clientCAFile": "/pki/ca.crt"}
    assert config["podLogsDir"].startswith(str(node.directory))


def test_real_nodes_carry_the_label_set_of_the_kwok_ec2_pools() -> None:
    labels = nodeconfig.node_labels("real-0", "amd64", 0)
    kwok = nodes.ec2_node("general-0", "general", nodes.ZONES[0], "m5.xlarge").labels
    assert set(labels) == set(kwok)
    assert labels[nodes.LABEL_NODE_POOL] == "real"
    assert nodeconfig.node_labels("real-1", "arm64", 1)[nodes.LABEL_ARCH] == "arm64"
    command = nodeconfig.kubelet_command(Path("/k"), NodePaths(DEEP, 0), "192.0.2.2", labels)
    assert "--node-labels=" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) in command


def test_busybox_image_is_reproducible_with_a_link_per_applet() -> None:
    layer = images.busybox_layer(b"ELF", ["bin/busybox", "bin/sh", "usr/bin/wget"])
    assert layer.symlinks == {"bin/sh": "/bin/busybox", "usr/bin/wget": "/bin/busybox"}
    first = images.docker_archive(images.BUSYBOX, layer, {"Cmd": ["sh"]})
    assert first == images.docker_archive(images.BUSYBOX, layer, {"Cmd": ["sh"]})
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        (entry,) = manifest
        config = json.load(archive.extractfile(entry["Config"]))  # type: ignore[arg-type]
        layer_tar = archive.extractfile(entry["Layers"][0]).read()  # type: ignore[union-attr]
    assert entry["RepoTags"] == [images.BUSYBOX]
    assert config["config"] == {"Cmd": ["sh"]}
    with tarfile.open(fileobj=io.BytesIO(layer_tar)) as rootfs:
        tmp = rootfs.getmember("tmp")
        assert tmp.mode == 0o1777 and tmp.mtime == 0
        assert rootfs.getmember("bin/sh").issym()


def test_archive_identity_reads_names_and_image_id(tmp_path: Path) -> None:
    archive = tmp_path / "pause.tar"
    archive.write_bytes(images.docker_archive(images.PAUSE, images.Layer(), {}))
    names, image_id = images.archive_identity(archive)
    assert names == [images.PAUSE] and image_id.endswith(".json")
    with tarfile.open(tmp_path / "bad.tar", "w"):
        pass
    with pytest.raises(KeyError):
        images.archive_identity(tmp_path / "bad.tar")


IPTABLES_NAT = """\
-P PREROUTING ACCEPT
-P POSTROUTING ACCEPT
-N CNI-0a1b2c
-N CNI-9f8e7d
-N KUBE-KUBELET-CANARY
-A POSTROUTING -s 10.85.0.4 -m comment --comment "name: \\"ecs-real-0\\" id: \\"a\\"" -j CNI-0a1b2c
-A POSTROUTING -s 10.88.0.2 -m comment --comment "name: \\"podman\\" id: \\"def\\"" -j CNI-9f8e7d
-A CNI-0a1b2c -d 10.85.0.0/24 -m comment --comment "name: \\"ecs-real-0\\" id: \\"a\\"" -j ACCEPT
"""
IPTABLES_FILTER = """\
-P INPUT ACCEPT
-N KUBE-FIREWALL
-A INPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -j DROP
"""


def test_iptables_plan_removes_only_our_cni_rules_and_kubelets_chains() -> None:
    deletions, chains = hostclean.iptables_plan("nat", IPTABLES_NAT)
    assert chains == ["CNI-0a1b2c", "KUBE-KUBELET-CANARY"]
    assert [d[:4] for d in deletions] == [["-t", "nat", "-D", "POSTROUTING"]] * 1 + [
        ["-t", "nat", "-D", "CNI-0a1b2c"]
    ]
    assert all("podman" not in " ".join(d) for d in deletions)
    deletions, chains = hostclean.iptables_plan("filter", IPTABLES_FILTER)
    assert deletions == [["-t", "filter", "-D", "INPUT", "-j", "KUBE-FIREWALL"]]
    assert chains == ["KUBE-FIREWALL"]


def test_mount_points_are_unescaped_and_ours_recognised() -> None:
    mountinfo = (
        "36 25 0:32 / /run/ecs-operator-real/real-0/x rw - tmpfs tmpfs rw\n"
        "37 25 0:33 / /tmp/a\\040b/realnodes/real-0/containerd/netns/cni-1 rw - nsfs nsfs rw\n"
        "38 25 0:34 / /var/lib/docker rw - ext4 /dev/vda rw\n"
    )
    points = hostclean.mount_points(mountinfo)
    assert points[1] == "/tmp/a b/realnodes/real-0/containerd/netns/cni-1"
    assert [p for p in points if hostclean.is_ours(p)] == points[:2]


def _claim(path: Path, state_dir: Path, timeout: float = 0.0) -> dict[str, object] | None:
    return hostclaim.claim(state_dir, timeout, log=lambda line: None, path=path, poll=0.01)


def test_host_claim_waits_for_a_live_holder_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "claim"
    assert _claim(path, tmp_path / "first") is None
    assert _claim(path, tmp_path / "first") is None  # the holder may claim again
    with pytest.raises(DevclusterError, match=str(tmp_path / "first")):
        _claim(path, tmp_path / "second")
    hostclaim.release(tmp_path / "second", path=path)  # not the holder: no effect
    assert hostclaim.holder(path)["state_dir"] == str(tmp_path / "first")  # type: ignore[index]
    hostclaim.release(tmp_path / "first", path=path)
    assert _claim(path, tmp_path / "second") is None


def test_a_claim_whose_owner_is_gone_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "claim"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    gone = {"state_dir": str(tmp_path / "gone"), "pid": int(dead.stdout), "start": "0"}
    path.write_text(json.dumps(gone))
    assert hostclaim.is_stale(gone)
    assert _claim(path, tmp_path / "mine") == gone
    assert hostclaim.holder(path)["pid"] == os.getpid()  # type: ignore[index]


def test_without_root_real_nodes_say_why_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realnode.os, "geteuid", lambda: 1000)
    reason = realnode.unavailable_reason()
    assert reason is not None and "root" in reason and "\n" not in reason
    monkeypatch.setattr(realnode.sys, "platform", "darwin")
    assert realnode.unavailable_reason() == "real nodes need Linux (this is darwin)"


def test_cni_results_of_our_networks_and_their_sandboxes_loopback() -> None:
    names = [
        "cni-loopback-aaa-lo",
        "cni-loopback-bbb-lo",
        "ecs-real-0-aaa-eth0",
        "podman-bbb-eth0",
    ]
    found = hostclean.cni_results(names, Path("/var/lib/cni/results"))
    assert [p.name for p in found] == ["ecs-real-0-aaa-eth0", "cni-loopback-aaa-lo"]


def test_reading_a_cgroup_tree_that_loses_a_directory_meanwhile_does_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime removes a stopping container's cgroup while the teardown reads the tree
    (CI: FileNotFoundError from Path.rglob in the middle of `down`)."""
    pod = tmp_path / "kubepods" / "pod1"
    for name, pids in (("gone", "7\n"), ("kept", "8\n")):
        (pod / name).mkdir(parents=True)
        (pod / name / "cgroup.procs").write_text(pids)
    real_scandir = os.scandir

    def vanishing(path: Any) -> Any:
        if str(path).endswith("gone"):
            shutil.rmtree(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", vanishing)
    assert hostclean._pids_in(tmp_path) == {8}
