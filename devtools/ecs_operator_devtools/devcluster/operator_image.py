"""The operator's image, built from the repository's Dockerfile without Docker or a registry
(`make image`, `ecs-operator devcluster image`).

The base the Dockerfile names (``python:<version>-slim``) is made locally: a Debian rootfs from
mmdebstrap off the mirror apt already uses, imported into a private container storage under
a tag the Dockerfile's ``PYTHON_VERSION`` build argument selects; buildah then builds the
Dockerfile unmodified, with ``--pull=never``. The result is a docker-archive in
``~/.cache/ecs-operator/images/`` that containerd's ``ctr image import`` (and
``DevCluster.import_image``) accept.

Two cache levels, so an unchanged tree builds nothing and a source change costs only the
``bud``: the base rootfs is keyed by its suite and package list; the image by the content of
its build context as the Dockerfile sees it (the files ``.dockerignore`` lets in, among those
git knows of), the Dockerfile and the base. buildah's layer cache in the private storage keeps
the locked dependencies' layer across source changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import binaries, images
from .errors import DevclusterError

#: Debian's suite whose python3 matches the Dockerfile's Python minor version (the locks are
#: resolved for 3.11), and what the base needs for the Dockerfile's steps.
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
REPOSITORY = "localhost/ecs-operator"
TOOLS = ("mmdebstrap", "buildah", "podman")
#: The CA bundle bind-mounted over the base's own while RUN steps fetch the locked wheels: an
#: intercepting TLS proxy's CA is only in the host's bundle. Mounted over a file the base has
#: (ca-certificates), so nothing of it is committed; on a host without a proxy it is the same
#: public set of CAs.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
_KEEP_ARCHIVES = 3
Log = Callable[[str], None]


@dataclass(frozen=True)
class OperatorImage:
    """A built image: its reference (repository:tag) and the docker-archive holding it."""

    repository: str
    tag: str
    archive: Path

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


def storage_options() -> list[str]:
    """A private container storage (never /var/lib/containers): overlay, in the cache."""
    root = binaries.cache_root() / "containers"
    return [
        "--root",
        str(root / "storage"),
        "--runroot",
        str(root / "run"),
        "--storage-driver",
        "overlay",
    ]


def unavailable_reason() -> str | None:
    """Why the image cannot be built here, in one line, or None."""
    if not sys.platform.startswith("linux"):
        return f"building the operator image needs Linux (this is {sys.platform})"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"building the operator image needs {', '.join(missing)} (`make packages`)"
    if os.geteuid() != 0:
        return "building the operator image needs root (buildah with a private storage)"
    return None


# -- the build context -----------------------------------------------------------------------
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex over slash-separated relative paths (Go's
    filepath.Match plus ``**``, as Docker's pattern matcher reads them)."""
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            out += ".*"
            index += 2
        else:
            char = pattern[index]
            out += {"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char))
            index += 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes, pattern) per rule of a .dockerignore, in order."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/")
        rules.append((not negated, _pattern_regex(pattern)))
    return rules


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether a file is sent to the build: the last rule matching it, or a directory above
    it, decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for excludes, regex in rules:
        if any(regex.match(prefix) for prefix in prefixes):
            included = not excludes
    return included


def context_files(context: Path) -> list[str]:
    """The build context's files as the Dockerfile sees them: what git tracks or would track
    (so caches and virtualenvs are never read), filtered by .dockerignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=context,
        capture_output=True,
        check=True,
    ).stdout.decode()
    ignore = context / ".dockerignore"
    rules = dockerignore_rules(ignore.read_text()) if ignore.exists() else []
    return sorted(
        name
        for name in set(listed.split("\0"))
        if name and (context / name).is_file() and in_context(name, rules)
    )


def digest_files(root: Path, names: Iterable[str], *extra: str) -> str:
    """sha256 over the names and contents of files below root, and extra strings."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()


# -- the base --------------------------------------------------------------------------------
def apt_mirrors(sources: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """(archive URI, security URI) of the Debian mirror apt uses, from (uri, suite) entries;
    deb.debian.org where apt names none."""
    archive = security = ""
    for uri, suite in sources:
        if suite.endswith("-security"):
            security = security or uri
        elif "debian" in uri:
            archive = archive or uri
    return (
        archive or "http://deb.debian.org/debian",
        security or "http://deb.debian.org/debian-security",
    )


def read_apt_sources(etc: Path = Path("/etc/apt")) -> list[tuple[str, str]]:
    """(uri, suite) of every enabled `deb` entry, from one-line .list and deb822 .sources."""
    entries: list[tuple[str, str]] = []
    for path in [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                fields = re.sub(r"\[[^]]*\]", "", line).split()
                if len(fields) >= 3 and fields[0] == "deb":
                    entries.append((fields[1], fields[2]))
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            stanza_fields: dict[str, str] = {}
            for line in stanza.splitlines():
                key, _, value = line.partition(":")
                if not line.startswith("#"):
                    stanza_fields[key.strip()] = value.strip()
            enabled = stanza_fields.get("Enabled", "yes") != "no"
            if enabled and "deb" in stanza_fields.get("Types", "").split():
                entries += [
                    (uri, suite)
                    for uri in stanza_fields.get("URIs", "").split()
                    for suite in stanza_fields.get("Suites", "").split()
                ]
    return entries


def base_sources(suite: str, mirrors: tuple[str, str]) -> str:
    archive, security = mirrors
    return (
        f"deb {archive} {suite} main\n"
        f"deb {archive} {suite}-updates main\n"
        f"deb {security} {suite}-security main\n"
    )


def mmdebstrap_command(
    suite: str, packages: Iterable[str], target: Path, sources: Path
) -> list[str]:
    """A minimal rootfs tarball: no docs, man pages, locales nor apt lists."""
    return [
        "mmdebstrap",
        "--quiet",
        "--mode=root",
        "--variant=minbase",
        "--format=tar",
        "--aptopt=Acquire::Check-Valid-Until false",
        f"--include={','.join(packages)}",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
        suite,
        str(target),
        str(sources),
    ]


def base_key(suite: str = SUITE, packages: Iterable[str] = BASE_PACKAGES) -> str:
    return hashlib.sha256(f"{suite}\0{','.join(sorted(packages))}".encode()).hexdigest()[:12]


def ensure_base_rootfs(log: Log) -> Path:
    """The base rootfs tarball, made by mmdebstrap once per suite and package list."""
    target = images.cache_dir() / "base" / f"debian-{SUITE}-{base_key()}.tar"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"making the image's base: Debian {SUITE} with {', '.join(BASE_PACKAGES)} (mmdebstrap)")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".base-") as work:
        sources = Path(work) / "sources.list"
        sources.write_text(base_sources(SUITE, apt_mirrors(read_apt_sources())))
        staging = Path(work) / target.name
        _run(mmdebstrap_command(SUITE, BASE_PACKAGES, staging, sources), "mmdebstrap")
        staging.rename(target)
    log(f"made the base in {time.monotonic() - started:.0f}s: {target}")
    return target


# -- the image -------------------------------------------------------------------------------
def base_python_version() -> str:
    """The Dockerfile's PYTHON_VERSION build argument that makes its FROM line name our base:
    ``python:3.11-debian-<key>-slim``."""
    return f"3.11-debian-{base_key()}"


def image_key(context: Path) -> str:
    """The image's cache key: its build context's content, the base's key, the build args."""
    return digest_files(context, context_files(context), base_python_version())


def bud_command(context: Path, reference: str) -> list[str]:
    mount = [f"--volume={CA_BUNDLE}:{CA_BUNDLE}:ro"] if Path(CA_BUNDLE).is_file() else []
    return [
        "buildah",
        *storage_options(),
        "bud",
        "--layers",
        "--isolation=chroot",
        "--pull=never",
        f"--build-arg=PYTHON_VERSION={base_python_version()}",
        *mount,
        f"--tag={reference}",
        f"--file={context / 'Dockerfile'}",
        str(context),
    ]


def ensure_image(context: Path | None = None, log: Log | None = None) -> OperatorImage:
    """The operator image of ``context`` (the source checkout), built only when its content
    changed since the last build."""
    say = log or (lambda line: print(line, file=sys.stderr))
    context = context or binaries.repo_root()
    reason = unavailable_reason()
    key = image_key(context)
    image = OperatorImage(REPOSITORY, key[:12], images.cache_dir() / f"ecs-operator-{key[:12]}.tar")
    if image.archive.exists():
        return image
    if reason is not None:
        raise DevclusterError(reason)
    rootfs = ensure_base_rootfs(say)
    base = f"docker.io/library/python:{base_python_version()}-slim"
    podman = ["podman", *storage_options()]
    if subprocess.run([*podman, "image", "exists", base]).returncode != 0:
        changes = ["--change=ENV LANG=C.UTF-8", '--change=CMD ["python3"]']
        _run([*podman, "import", *changes, str(rootfs), base], "podman import")
    started = time.monotonic()
    say(f"building {image.reference} from {context / 'Dockerfile'} (buildah bud)")
    build_output = _run(bud_command(context, image.reference), "buildah bud")
    with tempfile.TemporaryDirectory(dir=images.cache_dir(), prefix=".image-") as work:
        staging = Path(work) / image.archive.name
        destination = f"docker-archive:{staging}:{image.reference}"
        push = ["buildah", *storage_options(), "push", "--quiet", image.reference, destination]
        _run(push, "buildah push")
        staging.rename(image.archive)
    say(f"built {image.reference} in {time.monotonic() - started:.0f}s: {image.archive}")
    _tidy(image, build_output, base)
    return image


#: buildah's line after each step: the step's image, new or from the layer cache
_STEP_IMAGE = re.compile(r"^--> (?:Using cache )?([0-9a-f]{8,64})$", re.MULTILINE)


def stale_images(stored: list[dict[str, Any]], used: Iterable[str], base: str) -> list[str]:
    """The storage's images that are neither the base nor in the ancestry of an image the
    last build used (its layer cache), children before their parents. The archives are the
    product; the storage only has to make the next build fast."""
    parents = {image["Id"]: image.get("ParentId") or "" for image in stored}
    prefixes = tuple(used)
    roots = [
        image["Id"]
        for image in stored
        if image["Id"].startswith(prefixes) or base in (image.get("Names") or [])
    ]
    keep: set[str] = set()
    for image_id in roots:
        while image_id and image_id not in keep:
            keep.add(image_id)
            image_id = parents.get(image_id, "")

    def depth(image_id: str) -> int:
        return 0 if not image_id else 1 + depth(parents.get(image_id, ""))

    return sorted((i for i in parents if i not in keep), key=depth, reverse=True)


def _tidy(current: OperatorImage, build_output: str, base: str) -> None:
    """Keep the newest few archives (other checkouts may use theirs) and, in the storage, the
    base and the last build's layer cache only."""
    archives = sorted(
        images.cache_dir().glob("ecs-operator-*.tar"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in archives[_KEEP_ARCHIVES:]:
        if old != current.archive:
            old.unlink(missing_ok=True)
    podman = ["podman", *storage_options()]
    listed = subprocess.run(
        [*podman, "images", "--all", "--format=json"], capture_output=True, text=True
    )
    if listed.returncode == 0:
        used = _STEP_IMAGE.findall(build_output)
        stale = stale_images(json.loads(listed.stdout or "[]"), used, base)
        if stale:  # an image another build is using right now stays (no --force)
            subprocess.run([*podman, "rmi", "--ignore", *stale], capture_output=True)


def _run(command: list[str], what: str) -> str:
    """Run a tool; its output, or an error with the end of it."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise DevclusterError(f"{what} failed (exit {result.returncode}):\n{output}")
    return result.stdout
