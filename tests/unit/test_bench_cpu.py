"""The convergence benchmark's CPU accounting: what each process used during a run, which says
where an operator run's extra time goes on a CPU-bound machine (bench/convergence.py)."""

from __future__ import annotations

from pathlib import Path

from bench.convergence import cpu_seconds, cpu_used, request_time_used
from bench.request_metrics import parse_request_time

from ecs_operator_devtools.devcluster.cluster import DevCluster


def test_a_runs_cpu_is_each_processs_difference_and_their_total() -> None:
    before = {"etcd": 1.0, "operator": 2.0}
    after = {"etcd": 1.5, "operator": 4.0, "kwok": 0.3}  # kwok restarted meanwhile
    assert cpu_used(before, after) == {"etcd": 0.5, "kwok": 0.3, "operator": 2.0, "total": 2.8}


def test_the_sampler_counts_the_bench_itself_without_a_devcluster(tmp_path: Path) -> None:
    sample = cpu_seconds(DevCluster(tmp_path))()
    assert set(sample) == {"bench"}
    assert sample["bench"] > 0


def test_the_api_servers_time_is_read_by_request_and_ranked() -> None:
    metrics = "\n".join(
        [
            'apiserver_request_duration_seconds_sum{component="apiserver",group="apps",'
            'resource="deployments",scope="resource",subresource="",verb="POST",version="v1"} 3.5',
            'apiserver_request_duration_seconds_sum{component="apiserver",group="ecs-operator.dev",'
            'resource="services",subresource="status",verb="PATCH",version="v1alpha1"} 1',
            'apiserver_request_duration_seconds_sum{resource="pods",verb="WATCH"} 90',
            'apiserver_request_duration_seconds_count{resource="deployments",verb="POST"} 7',
            'apiserver_request_total{resource="deployments",verb="POST",code="201"} 7',
        ]
    )
    after = parse_request_time(metrics)
    assert after == {"POST deployments": 3.5, "PATCH services/status": 1.0}
    used = request_time_used({"POST deployments": 0.5}, after, top=1)
    assert used == {"POST deployments": 3.0, "total": 4.0}
