"""Remove what real nodes leave on the host, and list what is left (``leftovers``).

A stopped kubelet and containerd leave their pods' processes (in the node's cgroups), the
shims, mounts (network namespaces, overlay root filesystems, shm, volumes, kubelet's root
bind mount), the CNI bridge and masquerade chains, kubelet's iptables chains, the cgroups
themselves and a few fixed paths kubelet and libcni write whatever they are told. Each is
recognised by a marker of nodeconfig.py (paths, names, comments), so the sweep never touches
another program's objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from . import binaries
from .nodeconfig import BRIDGE_PREFIX, CGROUP_PARENT, NETWORK_PREFIX, NODES_DIR, RUN_ROOT

CGROUP_FS = Path("/sys/fs/cgroup")
PROC_SYS = Path("/proc/sys")
#: kubelet's iptables chains (its canaries, the firewall against route_localnet traffic).
KUBELET_CHAINS = ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT")
#: Paths kubelet writes whatever its --root-dir (device plugins), the log symlinks it makes
#: for every container, and libcni's cache of results.
DEVICE_PLUGINS = Path("/var/lib/kubelet/device-plugins")
CONTAINER_LOGS = Path("/var/log/containers")
CNI_CACHE = Path("/var/lib/cni")
NODE_BINARIES = ("kubelet", "containerd", "containerd-shim-runc-v2", "ctr")


def is_ours(path: str) -> bool:
    return f"/{NODES_DIR}/real-" in path or path.startswith(f"{RUN_ROOT}/") or path == str(RUN_ROOT)


def _unescape(field: str) -> str:
    """A path as /proc/self/mountinfo writes it (space, tab, newline, backslash in octal)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mount_points(mountinfo: str) -> list[str]:
    return [_unescape(line.split()[4]) for line in mountinfo.splitlines() if line.strip()]


def our_mounts() -> list[str]:
    """Our mount points, deepest first (the order to unmount them)."""
    points = mount_points(Path("/proc/self/mountinfo").read_text())
    return sorted({p for p in points if is_ours(p)}, key=lambda p: (-p.count("/"), p))


def unmount_all() -> None:
    for _ in range(3):  # a mount may reappear under another by propagation: repeat
        points = our_mounts()
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


# -- processes -------------------------------------------------------------------------------
def _cgroup_dirs(root: str) -> list[Path]:
    """The directories of cgroup ``root`` in every hierarchy (v1 controllers, or v2)."""
    relative = root.strip("/")
    if (CGROUP_FS / "cgroup.controllers").exists():
        return [CGROUP_FS / relative]
    return [h / relative for h in sorted(CGROUP_FS.iterdir()) if h.is_dir() and not h.is_symlink()]


def _pids_in(directory: Path) -> set[int]:
    """The processes of cgroup ``directory`` and below. The tree changes while it is read (the
    kubelet and the runtime remove a container's cgroup as it stops): os.walk skips a
    directory gone meanwhile, where Path.rglob raised FileNotFoundError."""
    pids: set[int] = set()
    for root, _, files in os.walk(directory):
        if "cgroup.procs" in files:
            try:
                pids.update(int(line) for line in Path(root, "cgroup.procs").read_text().split())
            except OSError:
                continue
    return pids


def kill_cgroup(root: str = f"/{CGROUP_PARENT}", timeout: float = 10.0) -> None:
    """SIGKILL every process in cgroup ``root`` (a node's pods; by default, every node's)
    until none is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = set().union(*(_pids_in(d) for d in _cgroup_dirs(root)))
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove_cgroups(root: str = f"/{CGROUP_PARENT}") -> None:
    """rmdir the cgroup tree ``root`` deepest first in every hierarchy (by default, every
    node's), then its parent if that is left empty."""
    for directory in _cgroup_dirs(root):
        for parent, subdirectories, _ in os.walk(directory, topdown=False):  # deepest first
            for sub in subdirectories:
                _rmdir(Path(parent, sub))
        _rmdir(directory)
        if directory.parent.name == CGROUP_PARENT:
            _rmdir(directory.parent)


def make_cgroups(root: str) -> None:
    """Create cgroup ``root`` in every hierarchy: kubelet refuses a cgroupRoot that is missing.
    On cgroup v2 alone, each new level also delegates its controllers to the next."""
    for directory in _cgroup_dirs(root):
        directory.mkdir(parents=True, exist_ok=True)
        if (CGROUP_FS / "cgroup.controllers").exists():
            for level in reversed(directory.relative_to(CGROUP_FS).parents):
                parent = CGROUP_FS / level
                wanted = " ".join(
                    f"+{c}" for c in (parent / "cgroup.controllers").read_text().split()
                )
                with contextlib.suppress(OSError):
                    (parent / "cgroup.subtree_control").write_text(wanted)


def _rmdir(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


def our_processes() -> list[tuple[int, str]]:
    """Processes running a real node's binary from the cache (pid, executable)."""
    cache = str(binaries.cache_root() / "bin")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        exe = exe.removesuffix(" (deleted)")
        if exe.startswith(cache) and Path(exe).name in NODE_BINARIES:
            found.append((int(entry.name), exe))
    return found


def kill_shims(socket: Path | None = None) -> None:
    """SIGKILL the runc shims of the containerd listening on ``socket`` (or of every node)."""
    for pid, exe in our_processes():
        if Path(exe).name != "containerd-shim-runc-v2":
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if socket is None or str(socket).encode() in command:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


# -- network ---------------------------------------------------------------------------------
def our_links() -> list[str]:
    return sorted(name for name in os.listdir("/sys/class/net") if name.startswith(BRIDGE_PREFIX))


def delete_link(name: str) -> None:
    subprocess.run(["ip", "link", "delete", name], capture_output=True)


def _is_ours(rule: list[str]) -> bool:
    """A CNI rule of one of our networks (its comment names the network) or a jump to one of
    kubelet's chains."""
    comment = rule[rule.index("--comment") + 1] if "--comment" in rule else ""
    target = rule[rule.index("-j") + 1] if "-j" in rule else ""
    return f'name: "{NETWORK_PREFIX}' in comment or target in KUBELET_CHAINS


def iptables_plan(table: str, rules: str) -> tuple[list[list[str]], list[str]]:
    """From ``iptables -t TABLE -S``: our rules to delete (as ``-D`` arguments) and our chains
    to flush and delete (the CNI chains our rules jump to, kubelet's chains)."""
    deletions: list[list[str]] = []
    chains: list[str] = []
    declared = set()
    for line in rules.splitlines():
        words = shlex.split(line)
        if words[:1] == ["-N"]:
            declared.add(words[1])
        elif words[:1] == ["-A"] and _is_ours(words):
            deletions.append(["-t", table, "-D", *words[1:]])
            target = words[words.index("-j") + 1] if "-j" in words else ""
            if target.startswith("CNI-") and target not in chains:
                chains.append(target)
    chains += [chain for chain in KUBELET_CHAINS if chain in declared]
    return deletions, chains


def _iptables_tables(command: str) -> dict[str, str]:
    tables = {}
    for table in ("filter", "nat", "mangle"):
        result = subprocess.run([command, "-w", "-t", table, "-S"], capture_output=True, text=True)
        if result.returncode == 0:
            tables[table] = result.stdout
    return tables


def clean_iptables() -> None:
    for command in ("iptables", "ip6tables"):
        if shutil.which(command) is None:
            continue
        for table, rules in _iptables_tables(command).items():
            deletions, chains = iptables_plan(table, rules)
            for deletion in deletions:
                subprocess.run([command, "-w", *deletion], capture_output=True)
            for chain in chains:
                subprocess.run([command, "-w", "-t", table, "-F", chain], capture_output=True)
                subprocess.run([command, "-w", "-t", table, "-X", chain], capture_output=True)


def our_iptables() -> list[str]:
    found = []
    for command in ("iptables", "ip6tables"):
        if shutil.which(command) is None:
            continue
        for table, rules in _iptables_tables(command).items():
            deletions, chains = iptables_plan(table, rules)
            found += [f"{command} {shlex.join(d)}" for d in deletions]
            found += [f"{command} -t {table} chain {chain}" for chain in chains]
    return found


# -- fixed paths -----------------------------------------------------------------------------
def our_paths() -> list[Path]:
    """Files of ours outside the state directory: kubelet's device-plugin directory, log
    symlinks into a node's pod logs, libcni's cached results of our networks, /run's sockets."""
    found = [p for p in (DEVICE_PLUGINS, RUN_ROOT, SAVED_SYSCTLS) if p.exists()]
    if CONTAINER_LOGS.is_dir():
        found += [
            link
            for link in CONTAINER_LOGS.iterdir()
            if link.is_symlink() and is_ours(os.readlink(link))
        ]
    results = CNI_CACHE / "results"
    if results.is_dir():
        found += cni_results(sorted(entry.name for entry in results.iterdir()), results)
    return found


def cni_results(names: list[str], directory: Path) -> list[Path]:
    """libcni's cached results of our networks (``<network>-<sandbox>-<ifname>``), and of the
    loopback network containerd sets up in the same sandboxes."""
    ours = [name for name in names if name.startswith(NETWORK_PREFIX)]
    sandboxes = {name.rsplit("-", 2)[-2] for name in ours if name.count("-") >= 2}
    loopbacks = [f"cni-loopback-{sandbox}-lo" for sandbox in sorted(sandboxes)]
    return [directory / name for name in [*ours, *loopbacks] if name in names]


def remove_tree(path: Path) -> None:
    """``rm -rf path``, unless something is still mounted under it: deleting through a mount
    (a pod's hostPath volume in a container's root filesystem) would delete the host's files."""
    mounted = mount_points(Path("/proc/self/mountinfo").read_text())
    if not any(point == str(path) or point.startswith(f"{path}/") for point in mounted):
        shutil.rmtree(path, ignore_errors=True)


def remove_paths() -> None:
    for path in our_paths():
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
        else:
            path.unlink(missing_ok=True)
    # the parents, if nothing but ours was in them
    for parent in (DEVICE_PLUGINS.parent, CONTAINER_LOGS, CNI_CACHE / "results", CNI_CACHE):
        _rmdir(parent)


#: Kernel settings kubelet sets for its nodes (its protectKernelDefaults, off) and the bridge
#: plugin for its gateway: saved before the first node starts, restored after the last.
SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
)
SAVED_SYSCTLS = Path("/run/ecs-operator-real.sysctl.json")


def save_sysctls() -> None:
    """Save the settings nodes change, unless saved already (by a devcluster that died)."""
    if not SAVED_SYSCTLS.exists():
        values = {key: (PROC_SYS / key).read_text().strip() for key in SYSCTLS}
        SAVED_SYSCTLS.write_text(json.dumps(values, indent=2))


def restore_sysctls() -> None:
    try:
        values = json.loads(SAVED_SYSCTLS.read_text())
    except (OSError, ValueError):
        return
    for key, value in values.items():
        with contextlib.suppress(OSError):
            (PROC_SYS / key).write_text(value)
    SAVED_SYSCTLS.unlink()


def our_cgroups() -> list[Path]:
    return [d for d in _cgroup_dirs(f"/{CGROUP_PARENT}") if d.exists()]


def leftovers() -> list[str]:
    """Everything of real nodes still on the host, one line each (empty after ``down``)."""
    return [
        *(f"process {pid} {exe}" for pid, exe in our_processes()),
        *(f"mount {point}" for point in our_mounts()),
        *(f"link {name}" for name in our_links()),
        *our_iptables(),
        *(f"cgroup {path}" for path in our_cgroups()),
        *(f"path {path}" for path in our_paths()),
    ]
