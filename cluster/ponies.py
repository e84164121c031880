"""The six ponies: the fake nodes of the test cluster, and how they are made.

kwok plays each pony's kubelet. A pony has a name, an InternalIP of its own in 127.0.0.11-16
(free for node agents), a MAC (annotation ``ponyconsole/mac``) and the capacity of a small
machine; the first pony is the master (label ``node-role.kubernetes.io/control-plane``).
"""

from __future__ import annotations

import time
from typing import Any

from cluster.binaries import KUBE_VERSION, KWOK_VERSION

#: (name, InternalIP, MAC) of the ponies; the first is the master.
PONIES: list[tuple[str, str, str]] = [
    ("twilight-sparkle", "127.0.0.11", "02:00:00:00:00:11"),
    ("rainbow-dash", "127.0.0.12", "02:00:00:00:00:12"),
    ("pinkie-pie", "127.0.0.13", "02:00:00:00:00:13"),
    ("fluttershy", "127.0.0.14", "02:00:00:00:00:14"),
    ("applejack", "127.0.0.15", "02:00:00:00:00:15"),
    ("rarity", "127.0.0.16", "02:00:00:00:00:16"),
]
MASTER = PONIES[0][0]
MAC_ANNOTATION = "ponyconsole/mac"


def pony_node(name: str, ip: str, mac: str) -> dict[str, Any]:
    """The Node object of one pony, as the API server takes it."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        "ponyconsole/pony": "true",
    }
    if name == MASTER:
        labels["node-role.kubernetes.io/control-plane"] = ""
    resources = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "1Ti"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                MAC_ANNOTATION: mac,
            },
        },
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
                {"type": "InternalDNS", "address": "localhost"},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "Pony OS (kwok)",
                "kubeletVersion": KUBE_VERSION,
                "kubeProxyVersion": "",
                "containerRuntimeVersion": f"kwok://{KWOK_VERSION}",
                "kernelVersion": "",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
        },
    }


def add_ponies(api: Any, timeout: float = 60.0) -> None:
    """Create the six pony nodes with the admin ``ApiClient`` ``api``; existing ones are kept.

    Right after start the RBAC bootstrap may still be settling: refusals are retried until
    ``timeout`` seconds have passed.
    """
    from kubernetes import client

    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    for name, ip, mac in PONIES:
        body = pony_node(name, ip, mac)
        while True:
            try:
                core.create_node(body)  # type: ignore[arg-type]  # a dict serves as a V1Node
                break
            except client.ApiException as e:
                if e.status == 409:
                    break
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def extra_node_names(count: int) -> list[str]:
    """Names of ``count`` extra fake nodes for scale tests: pony-001, pony-002, ..."""
    return [f"pony-{i:03d}" for i in range(1, count + 1)]


def add_extra_nodes(api: Any, count: int, timeout: float = 120.0) -> list[str]:
    """Create ``count`` more kwok nodes beside the six ponies (e.g. 294 for a 300-node cluster).

    Each is a small pony like the six (same capacity, labels and kubelet version) with an
    InternalIP in 127.1.0.0/16 that nothing listens on; existing ones are kept. Returns
    their names.
    """
    from kubernetes import client

    if not 0 <= count <= 60000:
        raise ValueError(f"count must be between 0 and 60000, not {count}")
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    names = extra_node_names(count)
    for i, name in enumerate(names, start=1):
        ip = f"127.1.{i // 256}.{i % 256}"
        mac = f"02:00:00:01:{i // 256:02x}:{i % 256:02x}"
        body = pony_node(name, ip, mac)
        while True:
            try:
                core.create_node(body)  # type: ignore[arg-type]  # a dict serves as a V1Node
                break
            except client.ApiException as e:
                if e.status == 409:
                    break
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    return names
