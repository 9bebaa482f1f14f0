"""docs/metrics.md documents every metric the operator and the ECS API export, with its
labels, under the name Prometheus scrapes (counters with ``_total``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from ecs_operator import metrics

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
METRICS = sorted(
    (value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)),
    key=lambda m: m._name,
)


def exposed_name(metric: MetricWrapperBase) -> str:
    return f"{metric._name}_total" if metric._type == "counter" else metric._name


def section(name: str) -> str:
    """The docs' section of a metric: from its heading to the next one."""
    match = re.search(rf"^### `{re.escape(name)}`\n(.*?)(?=^#|\Z)", DOC, re.MULTILINE | re.DOTALL)
    assert match, f"docs/metrics.md has no '### `{name}`' section"
    return match.group(1)


def test_every_metric_is_in_one_of_the_two_registries() -> None:
    operator = {m.name for m in metrics.REGISTRY.collect()}
    ecsapi = {m.name for m in metrics.ECSAPI_REGISTRY.collect()}
    assert {m._name for m in METRICS} == operator | ecsapi
    assert not operator & ecsapi
    assert {name for name in ecsapi if not name.startswith("ecs_operator_ecsapi_")} == set()
    assert len(METRICS) >= 8


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m._name)
def test_metric_is_documented_with_its_labels(metric: MetricWrapperBase) -> None:
    text = section(exposed_name(metric))
    assert f"Type: {metric._type}" in text
    for label in metric._labelnames:
        assert f"`{label}`" in text, f"label {label} of {metric._name} is undocumented"


def test_no_documented_metric_is_gone() -> None:
    documented = set(re.findall(r"^### `(ecs_operator_\w+)`", DOC, re.MULTILINE))
    assert documented == {exposed_name(m) for m in METRICS}
