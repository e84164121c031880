"""The agent DaemonSet on the real test cluster: one agent pod per pony, master included."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cluster.ponycluster import PONIES, PonyCluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]

MANIFEST = Path(__file__).parents[1] / "k8s" / "agent-daemonset.yaml"
CONTROL_PLANE_TAINT = client.V1Taint(
    key="node-role.kubernetes.io/control-plane", effect="NoSchedule"
)


def test_the_daemonset_places_one_agent_on_every_pony_even_the_tainted_master(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    api = kube_cluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    master = PONIES[0][0]
    body = yaml.safe_load(MANIFEST.read_text())
    body["metadata"]["namespace"] = kube_namespace
    node = core.read_node(master)
    taints = list(node.spec.taints or [])
    core.patch_node(master, {"spec": {"taints": [*taints, CONTROL_PLANE_TAINT]}})
    try:
        apps.create_namespaced_daemon_set(kube_namespace, body, dry_run="All")
        apps.create_namespaced_daemon_set(kube_namespace, body)
        deadline = time.monotonic() + 90
        placed: dict[str, str] = {}
        while time.monotonic() < deadline:
            pods = core.list_namespaced_pod(
                kube_namespace, label_selector="app.kubernetes.io/component=agent"
            ).items
            placed = {p.spec.node_name: p.status.phase for p in pods if p.spec.node_name}
            if len(placed) == len(PONIES) and set(placed.values()) == {"Running"}:
                break
            time.sleep(0.5)
        assert sorted(placed) == sorted(p[0] for p in PONIES), placed
        assert set(placed.values()) == {"Running"}, placed
        pod = core.list_namespaced_pod(
            kube_namespace, field_selector=f"spec.nodeName={master}"
        ).items[0]
        env = {e.name: e.value_from.field_ref.field_path for e in pod.spec.containers[0].env}
        assert env == {"NODE_NAME": "spec.nodeName"}
        assert pod.spec.host_network is True
    finally:
        core.patch_node(master, {"spec": {"taints": taints or None}})
