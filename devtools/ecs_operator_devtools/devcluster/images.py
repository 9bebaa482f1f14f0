"""The real nodes' task images, built without a registry or an image tool.

- ``localhost/pause:3.10``: the pod sandbox image containerd pins, a static C program
  (``pause.c``) compiled with gcc. Debian packages no pause image, and a static binary of a
  dozen lines is smaller to audit than any download.
- ``localhost/busybox:stable``: Debian's busybox-static with a link per applet, so ``sh``,
  ``wget``, ``nc``, ``sleep``, ``touch`` ... work in task containers.

Each is a single-layer docker-archive (what ``ctr image import`` reads), written
reproducibly (fixed timestamps and owners) into ``~/.cache/ecs-operator/images/`` under a
name carrying the hash of its inputs: a rebuild happens only when an input changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import binaries
from .errors import DevclusterError

PAUSE = "localhost/pause:3.10"
BUSYBOX = "localhost/busybox:stable"
BUSYBOX_BINARY = Path("/bin/busybox")
#: Bumped when the layout below changes, so cached archives of the old layout are not reused.
_LAYOUT = "1"
_CREATED = "2026-01-01T00:00:00Z"
_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Layer:
    """The files of a single-layer image: directories, regular files and symlinks."""

    dirs: dict[str, int] = field(default_factory=dict)
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)

    def tar(self) -> bytes:
        """The layer as an uncompressed tar, byte-for-byte the same for the same content."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path, mode in sorted(self.dirs.items()):
                archive.addfile(_entry(path, tarfile.DIRTYPE, mode))
            for path, (data, mode) in sorted(self.files.items()):
                info = _entry(path, tarfile.REGTYPE, mode)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            for path, target in sorted(self.symlinks.items()):
                info = _entry(path, tarfile.SYMTYPE, 0o777)
                info.linkname = target
                archive.addfile(info)
        return buffer.getvalue()


def _entry(path: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.mode, info.mtime = kind, mode, 0
    return info


def docker_archive(name: str, layer: Layer, config: dict[str, Any]) -> bytes:
    """A docker-archive (``docker save`` format) of one image with one layer."""
    layer_tar = layer.tar()
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    image_config = json.dumps(
        {
            "architecture": host_arch(),
            "os": "linux",
            "created": _CREATED,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": _CREATED, "created_by": "ecs-operator devcluster images.py"}],
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(image_config).hexdigest() + ".json"
    layer_name = diff_id.removeprefix("sha256:") + "/layer.tar"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [name], "Layers": [layer_name]}]
    ).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member, data in ((layer_name, layer_tar), (config_name, image_config)):
            info = _entry(member, tarfile.REGTYPE, 0o644)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = _entry("manifest.json", tarfile.REGTYPE, 0o644)
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    return buffer.getvalue()


def archive_identity(archive: Path) -> tuple[list[str], str]:
    """An archive's image names and its config's name (the image id): what import records."""
    with tarfile.open(archive) as opened:
        member = opened.extractfile("manifest.json")
        if member is None:
            raise DevclusterError(f"{archive} is not a docker-archive (no manifest.json)")
        (entry,) = json.load(member)
    return list(entry.get("RepoTags") or []), str(entry["Config"])


def host_arch() -> str:
    """This machine's architecture as Go and Kubernetes name it (amd64, arm64)."""
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def cache_dir() -> Path:
    return binaries.cache_root() / "images"


def _cached(name: str, inputs: bytes, build: Any) -> Path:
    """The archive of ``name`` for these inputs, built by ``build() -> bytes`` if absent."""
    key = hashlib.sha256(_LAYOUT.encode() + b"\0" + inputs).hexdigest()[:12]
    repository, tag = name.rsplit(":", 1)
    path = cache_dir() / f"{repository.rsplit('/', 1)[-1]}-{tag}-{key}.tar"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp")
        staging.write_bytes(build())
        staging.rename(path)
    return path


def pause_archive() -> Path:
    """``localhost/pause:3.10`` from pause.c, compiled static and stripped."""
    source = resources.files(__package__).joinpath("pause.c").read_bytes()
    gcc = shutil.which("gcc")
    if gcc is None:
        raise DevclusterError("gcc is needed to build the pause image: run `make packages`")
    version = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True).stdout

    def build() -> bytes:
        with tempfile.TemporaryDirectory() as work:
            (Path(work) / "pause.c").write_bytes(source)
            result = subprocess.run(
                [gcc, "-Os", "-static", "-s", "-o", "pause", "pause.c"],
                cwd=work,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise DevclusterError(f"compiling pause.c failed:\n{result.stderr[-2000:]}")
            binary = (Path(work) / "pause").read_bytes()
        layer = Layer(files={"pause": (binary, 0o755)})
        return docker_archive(PAUSE, layer, {"Entrypoint": ["/pause"], "User": "65535:65535"})

    return _cached(PAUSE, source + version.encode(), build)


def busybox_archive() -> Path:
    """``localhost/busybox:stable`` from busybox-static's ``/bin/busybox`` and its applets."""
    if not BUSYBOX_BINARY.exists():
        raise DevclusterError(f"{BUSYBOX_BINARY} is missing: run `make packages` (busybox-static)")
    binary = BUSYBOX_BINARY.read_bytes()

    def build() -> bytes:
        listed = subprocess.run(
            [str(BUSYBOX_BINARY), "--list-full"], capture_output=True, text=True, check=True
        ).stdout.split()
        layer = busybox_layer(binary, listed)
        return docker_archive(BUSYBOX, layer, {"Env": [_PATH], "Cmd": ["sh"]})

    return _cached(BUSYBOX, binary, build)


def busybox_layer(binary: bytes, applets: list[str]) -> Layer:
    """busybox at /bin/busybox, a symlink to it per applet path (``busybox --list-full``), and
    the few files a container expects (passwd and group with root and nobody, /tmp)."""
    layer = Layer(
        dirs={d: 0o755 for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "var")}
        | {"tmp": 0o1777, "root": 0o700, "proc": 0o555, "sys": 0o555, "dev": 0o755},
        files={
            "bin/busybox": (binary, 0o755),
            "etc/passwd": (
                b"root:x:0:0:root:/root:/bin/sh\n"
                b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
                0o644,
            ),
            "etc/group": (b"root:x:0:\nnogroup:x:65534:\n", 0o644),
        },
    )
    for applet in applets:
        if applet != "bin/busybox":
            layer.symlinks[applet] = "/bin/busybox"
    return layer


def task_images() -> list[Path]:
    """The archives every real node imports when it starts: pause, then busybox."""
    return [pause_archive(), busybox_archive()]
