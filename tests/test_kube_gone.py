"""A forced 410 Gone: the console resumes its watches from a version the API server no longer has.

The console reaches the API server through a TCP forwarder (tests/tcp_proxy.py) whose
cable the test pulls. While the console is away, a Job is created and another deleted
(directly, not through the forwarder) and kube-apiserver restarts: its new watch cache
begins at etcd's revision of its start, after the version the console last saw. The
console's informers resume their watches from that version (as client-go's reflector
does), the real API server answers 410 Gone, and they list again; the Resync that
follows shows the Job created and drops the one deleted meanwhile.

In a module of its own: it restarts the session's shared kube-apiserver and starts
whatever that stopped again (``ensure_running``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from urllib.parse import urlparse

import pytest
from kubernetes import client

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.backend import KubeBackend
from ponyconsole.backends.kube.config import load_cluster_config
from ponyconsole.backends.protocol import JobChanged, JobRemoved, Resync
from tests.kube_read_support import Recorder, create_job, pony_job, wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]


def _watch_answer(cluster: PonyCluster, namespace: str, version: str) -> list[dict[str, object]]:
    """What the API server answers a watch of the Jobs from ``version`` (at most 2 s of it)."""
    batch = client.BatchV1Api(cluster._admin())
    response = batch.list_namespaced_job(
        namespace, watch=True, resource_version=version, timeout_seconds=2, _preload_content=False
    )
    return [json.loads(line) for line in response.data.splitlines() if line.strip()]


def _behind_proxy(cluster: PonyCluster, namespace: str) -> tuple[TcpProxy, KubeBackend]:
    """A backend that reaches the API server through a forwarder the test can cut."""
    server = urlparse(cluster.server)
    proxy = TcpProxy(server.hostname or "127.0.0.1", server.port or 443)
    config = load_cluster_config(str(cluster.kubeconfig), namespace=namespace)
    configuration = config.configuration
    configuration.host = f"https://127.0.0.1:{proxy.port}"
    backend = KubeBackend(
        cluster=dataclasses.replace(config, configuration=configuration), agents=False
    )
    return proxy, backend


async def test_a_blip_resumes_the_watches_where_they_were_without_a_relist(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    """The API server stays up: its watch cache still holds the version, and replays."""
    proxy, backend = _behind_proxy(kube_cluster, kube_namespace)
    admin = kube_cluster.api_client()
    try:
        await backend.start()
        await asyncio.wait_for(backend.first_sync.wait(), 20)
        lists = {n: i.lists for n, i in backend.informers.items()}
        proxy.cut()
        await _until(
            backend, lambda: not backend.snapshot().connected, 20, "the console knows it is away"
        )
        body = pony_job("Blip.mkv", "vid-blip", start_delay="300s")
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        proxy.restore()
        await _until(backend, lambda: backend.snapshot().connected, 40, "connected again")
        await _until(backend, lambda: "vid-blip" in backend.store.items, 10, "the missed Job")
        assert {n: i.lists for n, i in backend.informers.items()} == lists, "no re-list"
        assert all(i.gone == 0 for i in backend.informers.values())
    finally:
        proxy.restore()
        await backend.stop()
        proxy.close()
        admin.close()


async def test_a_watch_resumed_from_a_version_gone_after_a_restart_relists_and_catches_up(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    proxy, backend = _behind_proxy(kube_cluster, kube_namespace)
    admin = kube_cluster.api_client()
    batch = client.BatchV1Api(admin)
    try:
        for rip in ("Kept.mkv", "Gone.mkv"):
            body = pony_job(rip, f"vid-{rip[:4].lower()}", start_delay="300s")
            await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        await backend.start()
        await asyncio.wait_for(backend.first_sync.wait(), 20)
        await _until(
            backend, lambda: {"vid-kept", "vid-gone"} <= set(backend.store.items), 20, "both items"
        )
        jobs = backend.informers["jobs"]
        before = {n: (i.lists, i.gone) for n, i in backend.informers.items()}
        seen = jobs.resource_version
        assert seen

        recorder = Recorder(backend)
        cut_at = time.monotonic()
        proxy.cut()
        await _until(
            backend, lambda: not backend.snapshot().connected, 20, "the console knows it is away"
        )
        # What changes while the console is away, made past the forwarder:
        await asyncio.to_thread(
            batch.delete_namespaced_job,
            "gone-mkv-transcode",
            kube_namespace,
            propagation_policy="Background",
        )
        await asyncio.to_thread(
            create_job,
            kube_cluster,
            kube_namespace,
            pony_job("New.mkv", "vid-new", start_delay="300s"),
        )
        await asyncio.to_thread(kube_cluster.restart_apiserver, 0.5)
        answer = await asyncio.to_thread(_watch_answer, kube_cluster, kube_namespace, seen)
        assert answer and answer[0]["type"] == "ERROR", answer[:3]
        assert answer[0]["object"]["code"] == 410, answer[0]  # type: ignore[index]
        print(f"a watch from {seen} after the restart: {answer[0]['object']['message']}")  # type: ignore[index]

        watches = jobs.watches
        proxy.restore()
        await _until(
            backend, lambda: backend.snapshot().connected, 40, "connected again (backoff ≤ 10 s)"
        )
        await _until(
            backend, lambda: "vid-new" in backend.store.items, 10, "the Job created meanwhile"
        )
        await _until(
            backend, lambda: "vid-gone" not in backend.store.items, 10, "the deleted Job gone"
        )
        print(f"caught up {time.monotonic() - cut_at:.1f} s after the cut")

        assert jobs.watches > watches, "the informer watched again from its version"
        assert jobs.gone > before["jobs"][1], "the API server answered 410 Gone"
        assert jobs.lists > before["jobs"][0], "and the informer listed again"
        for name, informer in backend.informers.items():
            print(f"{name}: {informer.gone - before[name][1]} x 410, lists {informer.lists}")
        resyncs = recorder.resyncs()
        assert resyncs, "the re-list made a Resync"
        final = resyncs[-1].snapshot
        ids = {job.id for job in final.jobs}
        assert "vid-new" in ids and "vid-kept" in ids and "vid-gone" not in ids, ids
        # both changes came with the Resync of the re-list, not as watch events
        first_resync = next(t for t, e in recorder.events if isinstance(e, Resync))
        early = [e for t, e in recorder.events if t < first_resync]
        assert not [e for e in early if isinstance(e, JobRemoved) and e.job_id == "vid-gone"]
        assert not [e for e in early if isinstance(e, JobChanged) and e.job.id == "vid-new"]
        await recorder.close()

        # and the watches go on: a change now arrives as an event
        core = client.CoreV1Api(admin)
        await asyncio.to_thread(core.patch_node, "rarity", {"spec": {"unschedulable": True}})
        await _until(
            backend, lambda: backend.store.nodes["rarity"].cordoned, 10, "the cordon watched"
        )
    finally:
        proxy.restore()
        await asyncio.to_thread(kube_cluster.ensure_running)
        await asyncio.to_thread(
            client.CoreV1Api(admin).patch_node, "rarity", {"spec": {"unschedulable": None}}
        )
        await backend.stop()
        proxy.close()
        admin.close()


def _informers(backend: KubeBackend) -> str:
    """The informers' counters and where their threads are, for a failure's message."""
    import sys
    import traceback

    frames = sys._current_frames()
    out = []
    for name, i in backend.informers.items():
        stack = (
            traceback.format_stack(frames[i._thread.ident])[-3:]
            if i._thread.ident in frames
            else []
        )
        out.append(
            f"{name}: lists {i.lists} gone {i.gone} watches {i.watches} rv {i.resource_version} "
            f"lost {i._lost}\n" + "".join(stack)
        )
    return "\n".join(out) + f"\n{backend.snapshot().sources}"


async def _until(
    backend: KubeBackend, check: Callable[[], object], timeout: float, what: str
) -> None:
    try:
        await wait_for(check, timeout, what)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_informers(backend)}") from None
