"""Generate ``ecs_operator/api/shapes.py`` from botocore's ECS service model.

Why generated: the ECS API has ~120 input structures and ~260 shapes reachable from the
four requests we mirror. Writing them by hand would drift from AWS and lose fields; the
model is the single source of truth for names, JSON types, enums, bounds and documentation.
Hand-written ECS rules live in ``api/rules/`` and a few field types are overridden with the
lenient ECS forms (``TYPE_OVERRIDES``). Single-field limits that ECS states only in prose (or
enforces only server-side) are added from ``DOC_CONSTRAINTS`` / ``SERVICE_REQUIRED``, so that
pydantic and the generated CRD schema (see ``crdgen/``) enforce them alike. Those tables, and
which requests are generated, are in ``shape_sources.py``.

Usage: ``python tools/gen_shapes.py [--check]`` (``make shapes``). Needs the dev extra
(botocore, pinned in pyproject.toml so regeneration is reproducible).
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
from shape_sources import (
    API_ROOTS,
    ARN_MAX,
    ARN_MEMBERS,
    DOC_CONSTRAINTS,
    INTEGER_MAX,
    INTEGER_MIN,
    LIST_MAX,
    MAP_MAX,
    ROOTS,
    SERVICE_REQUIRED,
    STRING_MAX,
    TYPE_OVERRIDES,
)

OUTPUT = Path(__file__).resolve().parent.parent / "operator/ecs_operator/api/shapes.py"

SCALARS = {
    "string": "str",
    "integer": "int",
    "long": "int",
    "boolean": "bool",
    "double": "float",
    # awsJson1.1 sends timestamps as epoch seconds
    "timestamp": "float",
}
MAX_DOC = 400


def summary(doc: str | None) -> str:
    """First paragraph of an HTML documentation string, as plain text, at most MAX_DOC chars."""
    if not doc:
        return ""
    first = re.split(r"</p>", doc, maxsplit=1)[0]
    text = html.unescape(re.sub(r"<[^>]+>", "", first))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_DOC:
        cut = text[:MAX_DOC]
        end = cut.rfind(". ")
        text = cut[: end + 1] if end > 80 else cut.rstrip() + "…"
    return text


class Generator:
    def __init__(self, shapes: dict[str, Any]) -> None:
        self.shapes = shapes
        self.reachable: list[str] = []
        for root in (*ROOTS, *API_ROOTS):
            self._walk(root)

    def _walk(self, name: str) -> None:
        if name in self.reachable:
            return
        self.reachable.append(name)
        shape = self.shapes[name]
        for member in shape.get("members", {}).values():
            self._walk(member["shape"])
        if shape["type"] == "list":
            self._walk(shape["member"]["shape"])
        if shape["type"] == "map":
            self._walk(shape["value"]["shape"])

    def type_of(self, name: str) -> str:
        shape = self.shapes[name]
        kind = shape["type"]
        if shape.get("document"):
            return "JsonValue"
        if kind == "structure":
            return name
        if kind == "list":
            return f"list[{self.type_of(shape['member']['shape'])}]"
        if kind == "map":
            return f"dict[str, {self.type_of(shape['value']['shape'])}]"
        if "enum" in shape:
            return name
        return SCALARS[kind]

    def constraints(self, name: str) -> list[str]:
        shape = self.shapes[name]
        out: list[str] = []
        kind = shape["type"]
        if kind == "integer":
            out.append(f"ge={shape.get('min', INTEGER_MIN)!r}")
            out.append(f"le={shape.get('max', INTEGER_MAX)!r}")
        elif kind in ("long", "double"):
            if "min" in shape:
                out.append(f"ge={shape['min']!r}")
            if "max" in shape:
                out.append(f"le={shape['max']!r}")
        elif kind == "list":
            if shape.get("min"):
                out.append(f"min_length={shape['min']}")
            if "max" in shape:
                out.append(f"max_length={shape['max']}")
        elif kind == "string" and "enum" not in shape:
            if "min" in shape:
                out.append(f"min_length={shape['min']}")
            if "max" in shape:
                out.append(f"max_length={shape['max']}")
            if "pattern" in shape:
                out.append(f"pattern={shape['pattern']!r}")
        return out

    def default_bounds(self, struct: str, member: str, name: str) -> dict[str, Any]:
        """The bounds of a member for which neither the model nor DOC_CONSTRAINTS give one
        (the caller keeps those): STRING_MAX or ARN_MAX characters, LIST_MAX items (of
        STRING_MAX characters when they are strings), MAP_MAX entries."""
        shape = self.shapes[name]
        if shape["type"] == "string" and "enum" not in shape:
            arn = member.endswith("Arn") or (struct, member) in ARN_MEMBERS
            return {"max_length": ARN_MAX if arn else STRING_MAX}
        if shape["type"] == "list":
            bounds: dict[str, Any] = {"max_length": LIST_MAX}
            item = self.shapes[shape["member"]["shape"]]
            if item["type"] == "string" and "enum" not in item:
                bounds["items"] = {"max_length": item.get("max", STRING_MAX)}
            return bounds
        if shape["type"] == "map":
            string = {"max_length": STRING_MAX}
            return {"max_length": MAP_MAX, "keys": string, "values": string}
        return {}

    def render(self) -> str:
        lines = [
            f'"""ECS input shapes, generated by tools/gen_shapes.py from botocore '
            f"{botocore.__version__}.",
            "",
            "Do not edit: run ``make shapes``. Every class is an ECS structure with its members in",
            "exact ECS casing; ECS rules that span fields live in rules/.",
            '"""',
            "",
            "# ruff: noqa: E501",
            "from __future__ import annotations",
            "",
            "from typing import Annotated, Literal",
            "",
            "from pydantic import Field, JsonValue",
            "",
            "from .base import EcsShape",
            "from .types import TaskCpu, TaskMemory",
        ]
        enums = sorted(n for n in self.reachable if "enum" in self.shapes[n])
        for name in enums:
            values = ", ".join(repr(v) for v in self.shapes[name]["enum"])
            lines += ["", f"{name} = Literal[{values}]"]
        structures = sorted(
            n
            for n in self.reachable
            if self.shapes[n]["type"] == "structure" and not self.shapes[n].get("document")
        )
        for name in structures:
            lines += ["", "", *self.render_structure(name)]
        lines += ["", "", "SHAPES: dict[str, type[EcsShape]] = {"]
        lines += [f"    {n!r}: {n}," for n in structures]
        lines += ["}", ""]
        # Resolve the forward references now, in this module: a subclass elsewhere (api/models.py)
        # could not resolve them from its own module.
        lines += ["for _shape in SHAPES.values():", "    _shape.model_rebuild()", ""]
        return "\n".join(lines)

    def render_structure(self, name: str) -> list[str]:
        shape = self.shapes[name]
        required = set(shape.get("required", [])) | {
            member for struct, member in SERVICE_REQUIRED if struct == name
        }
        doc = summary(shape.get("documentation")) or f"The ECS {name} structure."
        out = [f"class {name}(EcsShape):", f"    {_docstring(doc)}", ""]
        members = shape.get("members", {})
        if not members:
            out.append("    pass")
        for member, spec in members.items():
            override = TYPE_OVERRIDES.get((name, member))
            annotation = override or self.type_of(spec["shape"])
            args = [] if member in required else ["default=None"]
            if not override:
                args += self.constraints(spec["shape"])
            documented = dict(DOC_CONSTRAINTS.get((name, member), {}))
            if not override:
                given = {a.split("=")[0] for a in args} | set(documented)
                defaults = self.default_bounds(name, member, spec["shape"])
                documented |= {k: v for k, v in defaults.items() if k not in given}
            if items := documented.pop("items", None):
                inner = annotation.removeprefix("list[").removesuffix("]")
                annotation = f"list[Annotated[{inner}, Field({_arguments(items)})]]"
            if keys := documented.pop("keys", None):
                value = annotation.removeprefix("dict[str, ").removesuffix("]")
                values = documented.pop("values")
                annotation = (
                    f"dict[Annotated[str, Field({_arguments(keys)})], "
                    f"Annotated[{value}, Field({_arguments(values)})]]"
                )
            if documented:
                args = [a for a in args if a.split("=")[0] not in documented]
                args.append(_arguments(documented))
            member_doc = summary(spec.get("documentation"))
            if member_doc:
                args.append(f"description={member_doc!r}")
            if member in required:
                out.append(f"    {member}: {annotation} = Field({', '.join(args)})")
            else:
                out.append(f"    {member}: {annotation} | None = Field({', '.join(args)})")
        return out


def _arguments(constraints: dict[str, Any]) -> str:
    """``{"ge": 6}`` -> ``ge=6``: pydantic ``Field`` keyword arguments as source text."""
    return ", ".join(f"{key}={value!r}" for key, value in constraints.items())


def _docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', "'''")
    if text.endswith('"'):
        text += " "
    return f'"""{text}"""'


def formatted(source: str) -> str:
    """The source as ``ruff format`` leaves it, so the checked-in file is stable."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(OUTPUT), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if shapes.py is stale")
    args = parser.parse_args()
    model = botocore.loaders.Loader().load_service_model("ecs", "service-2")
    source = formatted(Generator(model["shapes"]).render())
    if args.check:
        if OUTPUT.read_text() != source:
            print(f"{OUTPUT} is stale: run `make shapes`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
