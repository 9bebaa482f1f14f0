"""The operator image's cache keys and base sources (devcluster/operator_image.py): what goes
into the image changes its key, nothing else does; the base comes from apt's own mirror."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ecs_operator_devtools.devcluster import operator_image

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("operator/ecs_operator/cli.py", True),
        ("operator/ecs_operator/__pycache__/cli.cpython-311.pyc", False),
        ("operator/ecs_operator.egg-info/PKG-INFO", False),
        ("requirements/image.lock", True),
        ("requirements/dev.lock", False),
        ("pyproject.toml", True),
        ("README.md", True),
        ("docs/install.md", False),
        ("tests/unit/test_operator_image.py", False),
        ("devtools/pyproject.toml", False),
    ],
)
def test_the_repository_dockerignore_decides_what_the_build_sees(path: str, sent: bool) -> None:
    rules = operator_image.dockerignore_rules((REPO / ".dockerignore").read_text())
    assert operator_image.in_context(path, rules) is sent


@pytest.mark.parametrize(
    ("rules", "path", "sent"),
    [
        ("", "a/b.py", True),
        ("**/*.pyc", "a/b/c.pyc", False),
        ("**/*.pyc", "c.pyc", False),
        ("docs\n!docs/keep.md", "docs/keep.md", True),
        ("docs\n!docs/keep.md", "docs/other.md", False),
        ("*.md", "sub/x.md", True),  # `*` does not cross a slash
    ],
)
def test_dockerignore_patterns_read_as_docker_reads_them(rules: str, path: str, sent: bool) -> None:
    assert operator_image.in_context(path, operator_image.dockerignore_rules(rules)) is sent


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A small git checkout shaped like the repository's build context."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md", "requirements"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "operator" / "pkg").mkdir(parents=True)
    (tmp_path / "operator" / "pkg" / "mod.py").write_text("VALUE = 1\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# guide\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def test_the_image_key_follows_the_build_context_only(context: Path) -> None:
    first = operator_image.image_key(context)
    assert operator_image.image_key(context) == first

    (context / "docs" / "guide.md").write_text("# changed, but not in the image\n")
    (context / "operator" / "pkg" / "__pycache__").mkdir()
    (context / "operator" / "pkg" / "__pycache__" / "mod.pyc").write_bytes(b"\0")
    assert operator_image.image_key(context) == first

    (context / "operator" / "pkg" / "mod.py").write_text("VALUE = 2\n")
    second = operator_image.image_key(context)
    assert second != first

    (context / "requirements" / "image.lock").write_text("# no dependencies\n")
    assert operator_image.image_key(context) != second


def test_files_git_ignores_never_reach_the_key(context: Path) -> None:
    first = operator_image.image_key(context)
    (context / ".gitignore").write_text("operator/local.py\n")
    (context / "operator" / "local.py").write_text("SECRET = 1\n")
    assert "operator/local.py" not in operator_image.context_files(context)
    assert operator_image.image_key(context) == first


def test_the_base_key_is_its_suite_and_package_set() -> None:
    assert operator_image.base_key("bookworm", ["b", "a"]) == operator_image.base_key(
        "bookworm", ["a", "b"]
    )
    assert operator_image.base_key("trixie", ["a"]) != operator_image.base_key("bookworm", ["a"])
    assert operator_image.base_key("bookworm", ["a", "c"]) != operator_image.base_key(
        "bookworm", ["a"]
    )


def test_the_base_uses_the_mirror_apt_uses(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64] http://mirror.example/debian bookworm main\n"
    )
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://other.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\n# a snapshot, say\nURIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n"
    )
    entries = operator_image.read_apt_sources(tmp_path)
    mirrors = operator_image.apt_mirrors(entries)
    assert mirrors == ("http://mirror.example/debian", "http://security.example/debian-security")
    assert operator_image.base_sources("bookworm", mirrors).splitlines() == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://security.example/debian-security bookworm-security main",
    ]


def test_without_apt_sources_the_base_comes_from_debians_own_mirror(tmp_path: Path) -> None:
    assert operator_image.apt_mirrors(operator_image.read_apt_sources(tmp_path)) == (
        "http://deb.debian.org/debian",
        "http://deb.debian.org/debian-security",
    )


def test_the_build_never_pulls_and_selects_the_local_base_through_the_dockerfile() -> None:
    command = operator_image.bud_command(REPO, "localhost/ecs-operator:x")
    assert "--pull=never" in command
    version = operator_image.base_python_version()
    assert f"--build-arg=PYTHON_VERSION={version}" in command
    # the Dockerfile's FROM line, with that build argument, names the base we import
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM python:${PYTHON_VERSION}-slim${PYTHON_DIGEST:+@${PYTHON_DIGEST}}" in dockerfile


def test_the_storage_keeps_the_base_and_the_last_builds_layers_only() -> None:
    """base <- locks <- deps <- old-src (an earlier build), deps <- new-src (the last build
    used deps from its cache and made new-src), base <- old-final (an earlier build)."""
    images = [
        {"Id": "base0", "ParentId": "", "Names": ["docker.io/library/python:x-slim"]},
        {"Id": "locks0", "ParentId": "base0"},
        {"Id": "deps00", "ParentId": "locks0"},
        {"Id": "oldsrc", "ParentId": "deps00"},
        {"Id": "newsrc", "ParentId": "deps00"},
        {"Id": "oldfin", "ParentId": "base0", "Names": ["localhost/ecs-operator:old"]},
        {"Id": "oldtop", "ParentId": "oldfin"},
    ]
    stale = operator_image.stale_images(
        images, ["newsrc", "deps00"], "docker.io/library/python:x-slim"
    )
    assert set(stale) == {"oldtop", "oldsrc", "oldfin"}
    assert stale.index("oldtop") < stale.index("oldfin"), "children first"
