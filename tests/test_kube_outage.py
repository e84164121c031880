"""KubeBackend loses the API server for 10 s and catches up without a restart.

In a module of its own: it stops the session's shared kube-apiserver, and
starts it again (``ensure_running``) whatever happens.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from kubernetes import client

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.protocol import BackendError, JobRemoved, Resync, SourceChanged
from tests.kube_read_support import Recorder, backend_for, create_job, pony_job, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]


async def test_the_backend_survives_an_apiserver_outage_and_catches_up(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = backend_for(kube_cluster, kube_namespace)
    await backend.start()
    await asyncio.wait_for(backend.first_sync.wait(), 20)
    recorder = Recorder(backend)
    admin = kube_cluster.api_client()
    batch, core = client.BatchV1Api(admin), client.CoreV1Api(admin)
    try:
        for rip in ("Kept.mkv", "Gone.mkv"):
            body = pony_job(rip, f"vid-{rip[:4].lower()}", start_delay="300s")
            await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        await wait_for(
            lambda: {"vid-kept", "vid-gone"} <= set(backend.store.items), 20, "both items"
        )

        stopped_at = time.monotonic()
        await asyncio.to_thread(kube_cluster.stop_apiserver)
        lost = await wait_for(
            lambda: [s for s in backend.snapshot().sources if not s.connected], 20, "disconnected"
        )
        print(f"disconnected after {time.monotonic() - stopped_at:.1f} s: {lost}")
        assert {s.name for s in lost} == {"nodes", "jobs", "pods"} or lost
        assert all(s.error and s.synced_at for s in lost)
        await wait_for(lambda: recorder.of(SourceChanged), 10, "the UI told of the loss")
        with pytest.raises(BackendError, match="disconnected from the API server"):
            await backend.set_cordoned("rarity", True)
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - stopped_at)))
        ages = [s.age(time.time()) for s in backend.snapshot().sources if not s.connected]
        assert ages and all(a is not None and a >= 8 for a in ages), ages
        assert len(backend.store.items) == 2, "the data is kept while disconnected"

        resyncs = len(recorder.resyncs())
        await asyncio.to_thread(kube_cluster.start_apiserver)
        # changed while our watches were broken (the backend backs off for seconds)
        await asyncio.to_thread(
            batch.delete_namespaced_job,
            "gone-mkv-transcode",
            kube_namespace,
            propagation_policy="Background",
        )
        await asyncio.to_thread(core.patch_node, "applejack", {"spec": {"unschedulable": True}})
        await wait_for(
            lambda: backend.snapshot().connected, 30, "connected again (backoff capped ~10 s)"
        )
        await wait_for(lambda: "vid-gone" not in backend.store.items, 10, "the deleted item gone")
        await wait_for(lambda: backend.store.nodes["applejack"].cordoned, 10, "the cordon seen")
        assert "vid-kept" in backend.store.items
        assert len(recorder.resyncs()) > resyncs, "a re-list makes a Resync"
        via = "a watch event" if recorder.of(JobRemoved) else "the Resync after the re-list"
        print(f"the deleted Job vanished through {via}")
        # What a subscriber believes: the last Resync, then the SourceChanged after it. An
        # informer may resume its watch (no re-list, no Resync) after another re-listed, so
        # the last Resync can still hold a lost source; a later SourceChanged must clear it.
        await wait_for(lambda: all(told(recorder).values()), 10, "every source told connected")
        assert set(told(recorder)) >= {"nodes", "jobs", "pods"}
    finally:
        await asyncio.to_thread(kube_cluster.ensure_running)
        await asyncio.to_thread(core.patch_node, "applejack", {"spec": {"unschedulable": None}})
        await recorder.close()
        await backend.stop()
        admin.close()


def told(recorder: Recorder) -> dict[str, bool]:
    """Each source's connected state as the event stream has told it so far."""
    state: dict[str, bool] = {}
    for _, event in recorder.events:
        if isinstance(event, Resync):
            state = {s.name: s.error is None for s in event.snapshot.sources}
        elif isinstance(event, SourceChanged):
            state[event.status.name] = event.status.error is None
    return state
