"""Time to the first full Resync of KubeBackend against the real test cluster, at scale.

Starts the pony test cluster (cluster/ponycluster.py), adds ``--nodes`` more
kwok nodes and ``--jobs`` ponyconsole Jobs (each with its pod, run by kwok for
2 s, as in DESIGN.md's scale run), then times, from ``start()``: the first full
Resync (the three lists landed and were converted), and the loop's share of it
(the conversion, which blocks the UI). Also times one cordon to its NodeChanged.

    .venv/bin/python bench/bench_kube_first_sync.py [--nodes 294] [--jobs 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubernetes import client

from cluster.ponies import pony_node
from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.backend import KubeBackend
from ponyconsole.backends.kube.config import load_cluster_config
from ponyconsole.backends.protocol import NodeChanged
from tests.kube_read_support import pony_job

NAMESPACE = "ponyconsole"


def populate(cluster: PonyCluster, nodes: int, jobs: int) -> None:
    api = cluster.api_client()
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    deadline = time.monotonic() + 60
    while True:
        try:
            core.read_namespaced_service_account("default", NAMESPACE)
            break
        except client.ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    template = pony_node("extra", "127.0.0.99", "02:00:00:00:00:99")

    def node(i: int) -> None:
        body = copy.deepcopy(template)
        body["metadata"]["name"] = f"extra-{i:03d}"
        core.create_node(body)

    def job(i: int) -> None:
        batch.create_namespaced_job(
            NAMESPACE, pony_job(f"rip {i:04d}.mkv", f"vid-{i:04d}", run_duration="2s")
        )

    t0 = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(node, range(nodes)))
        list(pool.map(job, range(jobs)))
    print(f"created {nodes} nodes and {jobs} Jobs in {time.monotonic() - t0:.1f} s")
    while True:
        pods = core.list_namespaced_pod(NAMESPACE, _preload_content=False)
        count = len(json.loads(pods.data)["items"])
        if count >= jobs or time.monotonic() - t0 > 300:
            break
        time.sleep(2)
    print(f"{count} pods after {time.monotonic() - t0:.1f} s")


async def measure(cluster: PonyCluster, runs: int) -> None:
    config = load_cluster_config(str(cluster.kubeconfig), namespace=NAMESPACE)
    times, loop_times = [], []
    for _ in range(runs):
        backend = KubeBackend(cluster=config)
        t0 = time.monotonic()
        await backend.start()
        await asyncio.wait_for(backend.first_sync.wait(), 60)
        times.append(time.monotonic() - t0)
        snap = backend.snapshot()
        t1 = time.monotonic()
        backend.store.rebuild()
        loop_times.append(time.monotonic() - t1)
        print(
            f"first full Resync after {times[-1]:.2f} s: {len(snap.nodes)} nodes, "
            f"{len(snap.jobs)} items; converting all of it on the loop: {loop_times[-1]:.2f} s"
        )
        stream = backend.events()
        core = client.CoreV1Api(cluster.api_client())
        node = snap.nodes[len(snap.nodes) // 2].name
        t0 = time.monotonic()
        await asyncio.to_thread(core.patch_node, node, {"spec": {"unschedulable": True}})
        async for event in stream:  # type: ignore[attr-defined]
            if isinstance(event, NodeChanged) and event.node.name == node and event.node.cordoned:
                break
        print(f"cordon of {node} -> NodeChanged: {(time.monotonic() - t0) * 1000:.0f} ms")
        await asyncio.to_thread(core.patch_node, node, {"spec": {"unschedulable": None}})
        await backend.stop()
    print(f"median first Resync {statistics.median(times):.2f} s over {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=294)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root, PonyCluster.start(Path(root)) as cluster:
        populate(cluster, args.nodes, args.jobs)
        asyncio.run(measure(cluster, args.runs))


if __name__ == "__main__":
    main()
