"""The operator image's Dockerfile, read statically (no Docker daemon needed): the final stage
runs `ecs-operator run` as a non-root user, agrees with what the Helm chart runs, and installs
exactly the hash-locked packages of requirements/ (`make lock`)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from tests.unit.test_chart import container, render

REPO = Path(__file__).resolve().parents[2]
IMAGE_LOCK, BUILD_LOCK = LOCKS = ("requirements/image.lock", "requirements/build.lock")


@dataclass
class Stage:
    """One FROM ... section: its base image and its instructions, in order."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, keyword: str) -> str | None:
        found = [value for key, value in self.instructions if key == keyword]
        return found[-1] if found else None

    def all(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


@dataclass
class Dockerfile:
    args: dict[str, str]  # global ARGs (before the first FROM) and their defaults
    stages: list[Stage]
    comments: str


def parse(text: str) -> Dockerfile:
    """Instructions with their line continuations joined; comments kept apart."""
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    logical = re.sub(r"\\\n\s*", " ", body)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical.splitlines():
        if not line.strip():
            continue
        keyword, _, value = line.strip().partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            image, _, name = value.partition(" AS ")
            stages.append(Stage(image.strip(), name.strip() or None))
        elif not stages and keyword == "ARG":
            key, _, default = value.partition("=")
            args[key] = default.strip('"')
        else:
            stages[-1].instructions.append((keyword, value))
    return Dockerfile(args, stages, comments)


DOCKERFILE = parse((REPO / "Dockerfile").read_text())
FINAL = DOCKERFILE.stages[-1]


def test_multi_stage_with_a_pinned_python_base() -> None:
    assert len(DOCKERFILE.stages) >= 2
    assert DOCKERFILE.stages[0].name == "builder"
    assert re.fullmatch(r"3\.11\.\d+", DOCKERFILE.args["PYTHON_VERSION"]), "pin the patch version"
    slot = "${PYTHON_DIGEST:+@${PYTHON_DIGEST}}"
    for stage in DOCKERFILE.stages:
        assert stage.base == f"python:${{PYTHON_VERSION}}-slim{slot}"
    # The digest placeholder is documented: how to fill it in for a release build.
    assert "PYTHON_DIGEST" in DOCKERFILE.args
    assert "--build-arg PYTHON_DIGEST=sha256:" in DOCKERFILE.comments


def test_final_stage_copies_only_the_built_venv() -> None:
    copies = FINAL.all("COPY")
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    assert "/opt/venv/bin" in (FINAL.last("ENV") or "")


def test_runs_as_non_root() -> None:
    user = FINAL.last("USER")
    assert user is not None
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, "numeric, so runAsNonRoot can be verified"
    assert gid.isdigit() and int(gid) != 0
    # USER comes after every RUN, so nothing in the final image runs as root afterwards.
    keywords = [key for key, _ in FINAL.instructions]
    assert all(k != "RUN" for k in keywords[keywords.index("USER") :])


def test_entry_point_is_ecs_operator_run() -> None:
    entrypoint = json.loads(FINAL.last("ENTRYPOINT") or "null")
    command = json.loads(FINAL.last("CMD") or "null")
    assert entrypoint == ["ecs-operator"]
    assert command == ["run", "--all-namespaces"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["ecs-operator"] == "ecs_operator.cli:main"


def test_the_chart_runs_what_the_image_runs() -> None:
    """The chart sets only args (so the ENTRYPOINT runs), starting like the image's CMD, as
    the user the image declares, on the ports the image exposes."""
    manifests = render()
    operator = container(manifests)
    assert "command" not in operator
    command = json.loads(FINAL.last("CMD") or "[]")
    assert operator["args"][: len(command)] == command
    uid = int((FINAL.last("USER") or "0").partition(":")[0])
    pod_security = next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"][
        "spec"
    ]["securityContext"]
    assert pod_security["runAsUser"] == uid
    exposed = {int(port) for port in (FINAL.last("EXPOSE") or "").split()}
    assert exposed == {p["containerPort"] for p in operator["ports"]}


def test_dockerignore_keeps_what_the_build_copies() -> None:
    """Every path the builder COPYs from the context survives .dockerignore."""
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch(path, pattern) or path.startswith(pattern + "/"):
                verdict = not negated
        return verdict

    sources = [
        part
        for value in DOCKERFILE.stages[0].all("COPY")
        for part in value.split()[:-1]
        if not part.startswith("--")
    ]
    assert sources == [*LOCKS, "pyproject.toml", "README.md", "operator"]
    assert not any(ignored(source) for source in sources)
    assert ignored(".venv") and ignored("tests") and ignored(".git") and ignored("devtools")
    assert ignored("operator/ecs_operator/__pycache__")


@dataclass(frozen=True)
class Pin:
    """One requirement of a lock: ``name==version`` and its ``--hash`` options."""

    name: str
    version: str
    hashes: tuple[str, ...]


def read_lock(path: str) -> dict[str, Pin]:
    """The pins of a requirements file written by ``uv pip compile --generate-hashes``."""
    text = re.sub(r"\\\n\s*", " ", (REPO / path).read_text())
    pins: dict[str, Pin] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        name, separator, version = requirement.partition("==")
        assert separator and version, f"{path}: {requirement!r} is not pinned with =="
        hashes = tuple(o.removeprefix("--hash=sha256:") for o in options)
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{path}: {line}"
        assert len(hashes) == len(options), f"{path}: only --hash options: {line}"
        pins[canonicalize_name(name)] = Pin(name, version, hashes)
    return pins


def pip_installs(stage: Stage) -> list[str]:
    """Every ``pip install`` / ``pip wheel`` command of a stage's RUN instructions."""
    return [
        command.strip()
        for run in stage.all("RUN")
        for command in run.split("&&")
        if re.search(r"\bpip (install|wheel)\b", command)
    ]


def test_every_pin_has_hashes() -> None:
    for path in LOCKS:
        pins = read_lock(path)
        assert pins, path
        assert all(pin.hashes for pin in pins.values()), path


def test_the_lock_covers_every_runtime_dependency() -> None:
    """Each dependency of pyproject.toml is pinned, at a version its specifier allows (a
    dependency added or re-bounded without `make lock` fails here, not in the image build)."""
    pins = read_lock(IMAGE_LOCK)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    for text in project["project"]["dependencies"]:
        requirement = Requirement(text)
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in {IMAGE_LOCK}: make lock"
        assert requirement.specifier.contains(pin.version), f"{pin} vs {text}: make lock"
    assert "ecs-operator" not in pins, "the package itself is built from the tree"


def test_the_image_carries_no_dev_tool() -> None:
    """Neither the extras (the plugin's client, the tests' tools) nor the dev tools' own
    dependencies are runtime dependencies or in the image's lock; the dev tools' package is
    not in the package's tree, nor in the build context."""
    pins = read_lock(IMAGE_LOCK)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    devtools = tomllib.loads((REPO / "devtools" / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    for text in [*extras, *devtools["dependencies"]]:
        name = canonicalize_name(Requirement(text).name)
        if name not in runtime and name != "ecs-operator":
            assert name not in pins, f"{text}: not a runtime dependency, yet in {IMAGE_LOCK}"
    assert {"kubernetes", "cryptography"}.isdisjoint(runtime | set(pins))
    assert not list((REPO / "operator").rglob("devcluster")), "devtools/ecs_operator_devtools"
    assert not list((REPO / "operator").rglob("demo.py")), "devtools/ecs_operator_devtools"


def test_the_build_lock_covers_the_build_system() -> None:
    pins = read_lock(BUILD_LOCK)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    assert {canonicalize_name(Requirement(r).name) for r in requires} == set(pins)
    for text in requires:
        requirement = Requirement(text)
        assert requirement.specifier.contains(pins[canonicalize_name(requirement.name)].version)


def test_the_builder_installs_only_what_the_locks_pin() -> None:
    """Dependencies only from the locks, hash-checked, wheels only; the package itself without
    dependencies, built without pip's build isolation (which would fetch an unverified
    setuptools); and `pip check` proves the lock complete at build time."""
    builder = DOCKERFILE.stages[0]
    assert builder.all("COPY")[0] == f"{IMAGE_LOCK} {BUILD_LOCK} ./requirements/"
    installs = pip_installs(builder)
    from_locks = [c for c in installs if " -r " in c]
    assert [c.split(" -r ")[1].strip() for c in from_locks] == list(LOCKS)
    for command in from_locks:
        assert "--require-hashes" in command and "--no-deps" in command
        assert "--only-binary :all:" in command
    others = [c for c in installs if c not in from_locks]
    assert others, "the package itself"
    for command in others:
        assert "--no-deps" in command, command
    wheel = next(c for c in others if " wheel " in c)
    assert "--no-build-isolation" in wheel
    assert not any("--upgrade" in c or " -U " in c for c in installs), "only what the lock pins"
    runs = " && ".join(builder.all("RUN"))
    assert "/opt/venv/bin/pip check" in runs


def test_the_lock_is_make_locks() -> None:
    """Written by `make lock` for the Dockerfile's Python (the header names the command)."""
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^lock:", makefile, re.MULTILINE)
    assert "sed -n 's/^ARG PYTHON_VERSION=//p' Dockerfile" in makefile
    for path in LOCKS:
        assert "#    make lock\n" in (REPO / path).read_text()
