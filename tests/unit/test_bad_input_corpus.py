"""The bad-input corpus, offline (``tests/integration/manifests/corpus.py`` says what each
folder holds).

The integration tests apply these files to a real API server with the operator running. Here
we check, cheaply, that each file sits in the right folder, so that a failure there is the
operator's and not the file's: an ``operator-invalid/`` manifest must pass the CRD (else the
operator never sees it), and its spec violation must be the one its header names; an
``invalid-kubernetes/`` manifest must have a valid spec (only Kubernetes' own rules refuse
it); and the whole corpus must fit in one namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.integration.manifests.corpus import (
    DEFAULT_REASON,
    INVALID_KUBERNETES,
    OPERATOR_INVALID,
    REFUSED,
    Manifest,
    load,
)
from tests.unit.test_crdgen import PARSERS

from ecs_operator.api import EcsValidationError

if TYPE_CHECKING:
    from tests.unit.conftest import OfflineApiServer

OPERATOR = load(OPERATOR_INVALID)
KUBERNETES = load(INVALID_KUBERNETES)


def _by_file(manifests: list[Manifest]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("manifest", manifests, ids=lambda m: m.path.name)


@_by_file(OPERATOR + KUBERNETES)
def test_the_crd_schema_lets_it_through(manifest: Manifest, apiserver: OfflineApiServer) -> None:
    assert apiserver.errors(manifest.body) == []


@_by_file(KUBERNETES + [m for m in OPERATOR if m.reason != DEFAULT_REASON or m.refused_by_render])
def test_its_spec_is_valid(manifest: Manifest) -> None:
    """Refused for its object name, its replicas or a reference, never for its spec."""
    PARSERS[manifest.kind](manifest.body["spec"])


@_by_file(
    [m for m in OPERATOR if m.reason == DEFAULT_REASON and not m.xfail and not m.refused_by_render]
)
def test_the_operator_refuses_its_spec_as_expected(manifest: Manifest) -> None:
    with pytest.raises(EcsValidationError) as refused:
        PARSERS[manifest.kind](manifest.body["spec"])
    assert manifest.expect and manifest.expect in str(refused.value)


def test_the_corpus_is_large_says_what_to_expect_and_fits_one_namespace() -> None:
    corpus = load(*REFUSED)
    objects = [(m.kind, m.name) for m in corpus]
    files = [m.path.name for m in corpus]

    assert len(corpus) >= 50
    assert [m.path.name for m in corpus if not m.expect] == []
    assert len(set(objects)) == len(objects)
    assert len(set(files)) == len(files)
