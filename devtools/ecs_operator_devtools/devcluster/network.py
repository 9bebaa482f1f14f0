"""The cluster network of devclusters with real nodes (kube-proxy, CoreDNS): its addresses."""

from __future__ import annotations

#: The cluster DNS Service's ClusterIP (in pki.SERVICE_CIDR): every kubelet's ``clusterDNS``.
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
