"""The files ``convert`` is given: JSON or YAML, a directory of them, or stdin, read as one
input; and the ``--nodes`` file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .. import sources
from ..api.errors import EcsValidationError
from ..nodes import NodeLabels, label_values
from .documents import Document, read_documents


def read_file(path: str) -> Any:
    if path == "-":
        return sources.parse(sys.stdin.read())
    with open(path, encoding="utf-8") as handle:
        return sources.parse(handle.read())


def node_labels_of(path: str | None) -> NodeLabels | None:
    """The label values of ``kubectl get nodes -o json`` output (a List or one Node)."""
    if path is None:
        return None
    data = read_file(path)
    listed = data.get("items", [data]) if isinstance(data, dict) else None
    if not isinstance(listed, list) or not all(isinstance(n, dict) for n in listed):
        raise ValueError("not the output of kubectl get nodes -o json")
    return label_values(listed)


#: the files a directory given to convert contributes
INPUT_SUFFIXES = (".json", ".yaml", ".yml")


def input_files(paths: list[str]) -> list[str]:
    """The files named, a directory standing for its input files (sorted, not recursive)."""
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        if path != "-" and folder.is_dir():
            files += sorted(
                str(p) for p in folder.iterdir() if p.is_file() and p.suffix in INPUT_SUFFIXES
            )
        else:
            files.append(path)
    return files


class Unreadable(Exception):
    """An input file that cannot be read or parsed (the message names it)."""


def documents_of(files: list[str], inputs: sources.Inputs) -> list[Document]:
    """Every file's documents, in order; an error names the file when there are several."""
    documents: list[Document] = []
    for path in files:
        try:
            data = read_file(path)
        except (OSError, json.JSONDecodeError) as error:
            raise Unreadable(f"{path}: {error}") from None
        try:
            documents += read_documents(data, inputs)
        except EcsValidationError as error:
            if len(files) == 1:
                raise
            raise EcsValidationError(error.violations, f"input {path}") from None
    return documents
