"""Network modes, ports, hostname, DNS, extra hosts and links."""

from __future__ import annotations

import json

from ecs_operator.render import keys

from .helpers import container, containers, findings_at, render, spec, task


def test_port_mappings_become_container_ports_and_an_annotation() -> None:
    cd = container(
        portMappings=[
            {"containerPort": 80, "name": "web_http", "appProtocol": "http"},
            {"containerPort": 53, "protocol": "udp"},
        ]
    )
    rendered = render(task([cd], networkMode="awsvpc"))
    ports = containers(rendered)["app"]["ports"]
    assert ports[0]["containerPort"] == 80 and ports[0]["name"].startswith("web-http")
    assert ports[1] == {"containerPort": 53, "protocol": "UDP"}
    mappings = json.loads(
        rendered.pod_template["metadata"]["annotations"][keys.ANNOTATION_PORT_MAPPINGS]
    )
    assert mappings[0] == {
        "container": "app",
        "containerPort": 80,
        "name": "web_http",
        "appProtocol": "http",
    }


def test_static_bridge_host_ports_are_kept_dynamic_ones_are_not() -> None:
    cd = container(
        portMappings=[{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 0}]
    )
    ports = containers(render(task([cd], networkMode="bridge")))["app"]["ports"]
    assert ports[0]["hostPort"] == 8080 and "hostPort" not in ports[1]


def test_host_mode_is_host_network() -> None:
    cd = container(portMappings=[{"containerPort": 80, "hostPort": 80}])
    rendered = render(task([cd], networkMode="host"))
    assert spec(rendered)["hostNetwork"] is True
    assert "hostPort" not in containers(rendered)["app"]["ports"][0]
    # the cluster's DNS, as any pod has it: service discovery names (and the task metadata
    # endpoint's Service) resolve, as Cloud Map names do through the VPC's resolver on ECS
    assert spec(rendered)["dnsPolicy"] == "ClusterFirstWithHostNet"
    # a task that names its own nameservers gets only those, in any network mode
    own = container(dnsServers=["10.0.0.2"])
    assert spec(render(task([own], networkMode="host")))["dnsPolicy"] == "None"
    assert "dnsPolicy" not in spec(render(task([cd], networkMode="bridge")))


def test_none_mode_is_reported() -> None:
    assert findings_at(render(task(networkMode="none")), "networkMode")[0].kind == "unsupported"


def test_port_ranges_expand_when_small() -> None:
    cd = container(
        portMappings=[{"containerPortRange": "7000-7002"}, {"containerPortRange": "1000-5000"}]
    )
    rendered = render(task([cd]))
    assert [p["containerPort"] for p in containers(rendered)["app"]["ports"]] == [7000, 7001, 7002]
    assert (
        findings_at(rendered, "containerDefinitions[0].portMappings[1].containerPortRange")[0].kind
        == "unsupported"
    )


def test_shared_port_between_containers_is_reported() -> None:
    td = task(
        [
            container("a", portMappings=[{"containerPort": 80}]),
            container("b", portMappings=[{"containerPort": 80}]),
        ]
    )
    assert findings_at(render(td), "containerDefinitions[1].portMappings[0]")


def test_dns_settings_merge_into_the_pod() -> None:
    td = task(
        [
            container("a", dnsServers=["10.0.0.2"], dnsSearchDomains=["Corp.Example.com"]),
            container("b", dnsServers=["10.0.0.3", "not-an-ip"]),
        ]
    )
    rendered = render(td)
    pod = spec(rendered)
    assert pod["dnsPolicy"] == "None"
    assert pod["dnsConfig"] == {
        "nameservers": ["10.0.0.2", "10.0.0.3"],
        "searches": ["corp.example.com"],
    }
    assert findings_at(rendered, "containerDefinitions[].dnsServers")


def test_search_domains_alone_keep_the_cluster_dns() -> None:
    pod = spec(render(task([container(dnsSearchDomains=["example.com"])])))
    assert "dnsPolicy" not in pod and pod["dnsConfig"] == {"searches": ["example.com"]}


def test_extra_hosts_and_links_become_host_aliases() -> None:
    td = task(
        [
            container(
                "web",
                links=["db:database"],
                extraHosts=[
                    {"hostname": "ldap", "ipAddress": "10.1.1.1"},
                    {"hostname": "Bad_Name", "ipAddress": "10.1.1.2"},
                ],
            ),
            container("db"),
        ],
        networkMode="bridge",
    )
    rendered = render(td)
    assert spec(rendered)["hostAliases"] == [
        {"ip": "10.1.1.1", "hostnames": ["ldap"]},
        {"ip": "127.0.0.1", "hostnames": ["db", "database"]},
    ]
    assert findings_at(rendered, "containerDefinitions[0].extraHosts[1]")[0].kind == "unsupported"
    assert findings_at(rendered, "containerDefinitions[0].links")


def test_hostname_is_one_dns_label() -> None:
    rendered = render(task([container(hostname="web01.example.com")]))
    assert spec(rendered)["hostname"] == "web01"
    assert findings_at(rendered, "containerDefinitions[0].hostname")
