"""KubeBackend's read path against the real test cluster (no mock of the API).

Every wait has a deadline; pod lifecycles are steered with kwok annotations.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client

from cluster.ponycluster import PONIES, PonyCluster, append_cri_log, write_cri_log
from ponyconsole.backends.kube.backend import KubeBackend
from ponyconsole.backends.protocol import (
    BackendError,
    JobChanged,
    NodeChanged,
    NotAllowed,
    Resync,
)
from ponyconsole.domain.models import JobState, Progress, ProgressState, StageKind
from tests.fixtures.media import HandBrakeRun
from tests.kube_read_support import (
    Recorder,
    backend_for,
    compact_etcd,
    create_job,
    pony_job,
    wait_for,
    wait_sync,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]


async def started(cluster: PonyCluster, namespace: str, **kwargs: object) -> KubeBackend:
    backend = backend_for(cluster, namespace, **kwargs)
    await backend.start()
    await asyncio.wait_for(backend.first_sync.wait(), 20)
    return backend


async def test_six_ponies_arrive_in_the_first_resync(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = backend_for(kube_cluster, kube_namespace)
    t0 = time.monotonic()
    await backend.start()
    assert time.monotonic() - t0 < 0.5, "start() must not wait for the lists"
    recorder = Recorder(backend)
    try:

        def synced(resync: Resync) -> bool:
            return all(s.synced_at for s in resync.snapshot.sources)

        await wait_for(lambda: any(map(synced, recorder.resyncs())), 10, "the full Resync")
        first, *early = recorder.resyncs()
        full = next(r for r in early if synced(r))
        assert first.snapshot.mode == "cluster"
        for resync in early[: early.index(full)]:
            # the node list landed first: the ponies shown at once, the items to follow
            ready = {s.name for s in resync.snapshot.sources if s.synced_at}
            assert "nodes" in ready and len(ready) < 3
            assert sorted(n.name for n in resync.snapshot.nodes) == sorted(p[0] for p in PONIES)
            assert resync.snapshot.jobs == ()
        snapshot = full.snapshot
        assert snapshot.namespace == kube_namespace and snapshot.context
        assert [s.name for s in snapshot.sources] == ["nodes", "jobs", "pods"]
        assert all(s.connected and s.synced_at for s in snapshot.sources)
        nodes = {n.name: n for n in snapshot.nodes}
        assert sorted(nodes) == sorted(p[0] for p in PONIES)
        for name, ip, mac in PONIES:
            node = nodes[name]
            assert node.ready and not node.cordoned and node.pressures == ()
            assert node.internal_ip == ip and node.mac == mac
            assert node.allocatable_cpu_milli == 4000
            assert node.allocatable_memory == 16 * 2**30
            assert node.kubelet_version and node.created_at and node.created_at < time.time()
            assert node.is_master == (name == "twilight-sparkle")
            assert node.roles == (("control-plane",) if node.is_master else ())
        assert snapshot.jobs == ()
        perms = snapshot.permissions
        assert "enqueue" not in {a.value for a in perms.allowed}
    finally:
        await recorder.close()
        await backend.stop()


async def test_a_cordon_made_through_the_api_shows_within_a_second(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = await started(kube_cluster, kube_namespace)
    recorder = Recorder(backend)
    core = client.CoreV1Api(kube_cluster._admin())
    try:
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        await asyncio.to_thread(core.patch_node, "rarity", {"spec": {"unschedulable": True}})

        def cordoned() -> bool:
            return any(
                e.node.name == "rarity" and e.node.cordoned for e in recorder.of(NodeChanged)
            )

        await wait_for(cordoned, 5, "rarity cordoned")
        seen_at = next(
            t for t, e in recorder.events if isinstance(e, NodeChanged) and e.node.cordoned
        )
        assert seen_at - t0 < 1.0
        assert backend.snapshot().nodes and backend.store.nodes["rarity"].cordoned
    finally:
        await asyncio.to_thread(core.patch_node, "rarity", {"spec": {"unschedulable": None}})
        await wait_for(lambda: not backend.store.nodes["rarity"].cordoned, 5, "uncordoned")
        await recorder.close()
        await backend.stop()


def test_lists_read_before_the_loop_exists_arrive_once_it_starts(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    """The console prefetches before its UI imports: the lists are held, then delivered."""
    body = pony_job("Early.mkv", "vid-early", run_duration="60s")
    create_job(kube_cluster, kube_namespace, body)
    backend = backend_for(kube_cluster, kube_namespace)
    backend.prefetch()  # no event loop yet
    wait_sync(lambda: all(i.lists for i in backend.informers.values()), 20, "three lists read")

    async def run() -> None:
        recorder = Recorder(backend)
        try:
            await backend.start()
            assert len(backend.informers) == 3  # start() reuses the prefetching informers
            await asyncio.wait_for(backend.first_sync.wait(), 10)
            await wait_for(lambda: len(recorder.resyncs()) >= 2, 5, "the full Resync")
            snapshot = recorder.resyncs()[-1].snapshot
            assert sorted(n.name for n in snapshot.nodes) == sorted(p[0] for p in PONIES)
            assert [j.id for j in snapshot.jobs] == ["vid-early"]
            assert all(s.synced_at for s in snapshot.sources)
            watches = lambda: sum(i.watches for i in backend.informers.values())  # noqa: E731
            await wait_for(lambda: watches() >= 3, 5, "the watches opened after the lists")
        finally:
            await recorder.close()
            await backend.stop()

    asyncio.run(run())


async def test_a_job_moves_the_item_from_waiting_to_running_to_succeeded(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = await started(kube_cluster, kube_namespace)
    recorder = Recorder(backend)
    try:
        body = pony_job("The Movie (2001).mkv", "vid-movie", start_delay="2s", run_duration="3s")
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)

        def states() -> list[JobState]:
            out: list[JobState] = []
            for event in recorder.of(JobChanged):
                if event.job.id == "vid-movie" and (not out or out[-1] != event.job.state):
                    out.append(event.job.state)
            return out

        await wait_for(lambda: JobState.RUNNING in states(), 30, "the item running")
        running = backend.store.items["vid-movie"]
        assert running.node in {p[0] for p in PONIES}
        assert running.kube_name == "the-movie-2001-mkv-transcode"
        assert running.namespace == kube_namespace
        assert running.source == "/srv/inbox/movies/The Movie (2001).mkv"
        assert (running.library, running.preset, running.title) == ("movies", "Fast 1080p30", 1)
        assert [s.kind for s in running.stages] == [StageKind.TRANSCODE]
        assert running.started_at
        node = backend.store.nodes[running.node]
        assert node.requested_cpu_milli == 1000 and node.requested_memory == 512 * 2**20
        await wait_for(lambda: JobState.SUCCEEDED in states(), 30, "the item succeeded")
        seen = states()
        assert seen.index(JobState.RUNNING) < seen.index(JobState.SUCCEEDED)
        assert seen[0] in (JobState.QUEUED, JobState.PENDING, JobState.RUNNING)
        done = backend.store.items["vid-movie"]
        assert done.finished_at and done.finished_at >= done.started_at
        await wait_for(
            lambda: backend.store.nodes[running.node].requested_cpu_milli == 0,
            10,
            "the finished pod's requests released",
        )
    finally:
        await recorder.close()
        await backend.stop()


async def test_a_failed_job_and_an_upload_stage_make_one_item(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = await started(kube_cluster, kube_namespace)
    try:
        transcode = pony_job("Bad.mkv", "vid-bad", fail=True, run_duration="1s")
        upload = pony_job("Bad.mkv", "vid-bad", "upload", start_delay="60s", run_duration="60s")
        for body in (transcode, upload):
            await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        item = await wait_for(
            lambda: (j := backend.store.items.get("vid-bad")) and j.state is JobState.FAILED and j,
            40,
            "the item failed",
        )
        assert [s.kind for s in item.stages] == [StageKind.TRANSCODE, StageKind.UPLOAD]
        assert item.stage == "transcode" and item.kube_name == "bad-mkv-transcode"
        assert item.reason and "exit code 1" in item.reason
        assert len(backend.snapshot().jobs) == 1
    finally:
        await backend.stop()


async def test_an_unschedulable_job_is_pending_with_the_schedulers_message(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = await started(kube_cluster, kube_namespace)
    try:
        body = pony_job("Nowhere.mkv", "vid-nowhere", node_selector={"ponyconsole/pony": "nope"})
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        item = await wait_for(
            lambda: (
                (j := backend.store.items.get("vid-nowhere")) and j.state is JobState.PENDING and j
            ),
            30,
            "the item pending",
        )
        assert item.reason and item.reason.startswith("0/6 nodes are available"), item.reason
        assert "node affinity/selector" in item.reason
    finally:
        await backend.stop()


def _serve(cluster: PonyCluster, namespace: str, log: Path) -> None:
    cluster.serve_pod_logs(namespace, log)


async def _progress_from_log(
    cluster: PonyCluster, namespace: str, log: Path, lines: list[str], video: str
) -> tuple[KubeBackend, Progress]:
    write_cri_log(log, lines)
    await asyncio.to_thread(_serve, cluster, namespace, log)
    backend = await started(cluster, namespace)
    body = pony_job(f"{video}.mkv", video, run_duration="120s")
    await asyncio.to_thread(create_job, cluster, namespace, body)
    try:
        item = await wait_for(
            lambda: (j := backend.store.items.get(video)) and j.progress and j,
            30,
            "progress in the item",
        )
    except BaseException:
        await backend.stop()
        raise
    assert item.state is JobState.RUNNING and item.progress is not None
    return backend, item.progress


@pytest.mark.handbrake
@pytest.mark.timeout(600)  # the session's HandBrake runs are made on first use (minutes if busy)
@pytest.mark.parametrize("run", ["hb_text_2pass", "hb_json_2pass"])
async def test_progress_from_a_pod_log_of_real_handbrake_output(
    kube_cluster: PonyCluster,
    kube_namespace: str,
    tmp_path: Path,
    run: str,
    request: pytest.FixtureRequest,
) -> None:
    hb: HandBrakeRun = request.getfixturevalue(run)
    text = hb.stdout.decode("utf-8", "replace").splitlines()
    half = len(text) // 2
    log = tmp_path / "handbrake.log"
    backend, first = await _progress_from_log(
        kube_cluster, kube_namespace, log, text[:half], "vid-hb"
    )
    try:
        assert first.state is ProgressState.WORKING and first.passes == 2
        append_cri_log(log, text[half:])  # the follow stream sees the rest
        item = await wait_for(
            lambda: (
                (j := backend.store.items["vid-hb"]).progress
                and j.progress.overall_percent > first.overall_percent + 20
                and j
            ),
            20,
            "the progress to move",
        )
        assert item.progress is not None and item.progress.pass_ == 2
        assert len(backend.followers) == 1
    finally:
        await backend.stop()


async def test_one_json_progress_object_per_line_moves_the_item(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
) -> None:
    updates = [
        Progress(ProgressState.WORKING, 1, 1, pct, pct, fps=30.0, eta_seconds=int(100 - pct))
        for pct in (5.0, 12.5, 40.0)
    ]
    lines = ["transcode: starting", *(json.dumps(u.as_json()) for u in updates)]
    log = tmp_path / "transcode.log"
    backend, _progress = await _progress_from_log(
        kube_cluster, kube_namespace, log, lines, "vid-json"
    )
    try:
        await wait_for(
            lambda: backend.store.items["vid-json"].progress == updates[-1], 10, "the last line"
        )
        later = Progress(ProgressState.WORKING, 1, 1, 77.0, 77.0, fps=29.0, eta_seconds=3)
        append_cri_log(log, [json.dumps(later.as_json())])
        await wait_for(
            lambda: backend.store.items["vid-json"].progress == later, 10, "the appended line"
        )
    finally:
        await backend.stop()


async def test_a_frozen_log_turns_stalled_and_a_new_line_clears_it(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
) -> None:
    first = Progress(ProgressState.WORKING, 1, 1, 10.0, 10.0)
    log = tmp_path / "frozen.log"
    write_cri_log(log, [json.dumps(first.as_json())])
    await asyncio.to_thread(_serve, kube_cluster, kube_namespace, log)
    backend = await started(kube_cluster, kube_namespace, stall_seconds=3.0)
    try:
        body = pony_job("Frozen.mkv", "vid-frozen", run_duration="120s")
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        await wait_for(
            lambda: (j := backend.store.items.get("vid-frozen")) and j.progress == first,
            30,
            "the first progress",
        )
        assert not backend.store.items["vid-frozen"].stalled
        await wait_for(lambda: backend.store.items["vid-frozen"].stalled, 8, "stalled")
        moved = Progress(ProgressState.WORKING, 1, 1, 11.0, 11.0)
        append_cri_log(log, [json.dumps(moved.as_json())])
        await wait_for(lambda: not backend.store.items["vid-frozen"].stalled, 8, "moving again")
        assert backend.store.items["vid-frozen"].progress == moved
    finally:
        await backend.stop()


async def test_follow_log_gives_the_current_pods_lines_then_new_ones(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "follow.log"
    write_cri_log(log, ["line one", "line two"])
    await asyncio.to_thread(_serve, kube_cluster, kube_namespace, log)
    backend = await started(kube_cluster, kube_namespace)
    try:
        body = pony_job("Follow.mkv", "vid-follow", run_duration="8s")
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        await wait_for(
            lambda: (j := backend.store.items.get("vid-follow")) and j.state is JobState.RUNNING,
            30,
            "running",
        )
        detail = await backend.job_detail("vid-follow")
        assert detail.log_tail == ("line one", "line two")
        seen: list[str] = []

        async def follow() -> None:
            async for line in backend.follow_log("vid-follow"):
                seen.append(line)
                if line == "line two":
                    append_cri_log(log, ["line three"])

        # ends by itself when the pod ends (run-duration 8 s)
        await asyncio.wait_for(follow(), 30)
        assert seen[:3] == ["line one", "line two", "line three"]
    finally:
        await backend.stop()


async def test_actions_are_refused_up_front_in_read_only_mode(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = await started(kube_cluster, kube_namespace, read_only=True)
    try:
        assert backend.snapshot().permissions.allowed == frozenset()
        for call in (
            backend.set_cordoned("rarity", True),
            backend.drain("rarity"),
            backend.drain_plan("rarity"),
            backend.retry("anything"),
            backend.retry_failed(),
            backend.cancel("anything"),
        ):
            with pytest.raises(NotAllowed, match="read-only"):
                await call
        assert not backend.store.nodes["rarity"].cordoned
        with pytest.raises(NotAllowed, match="read-only"):
            await backend.enqueue(None)  # type: ignore[arg-type]
        with pytest.raises(BackendError, match="no such job"):
            await backend.job_detail("nope")
    finally:
        await backend.stop()


async def test_a_watch_from_a_stale_resource_version_keeps_the_cache_right(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    """Watch again from version 1 after an etcd compaction.

    Measured on the test cluster (v1.35.4): the watch cache of an API server
    started on an empty etcd still holds every event since its start, so it
    replays them (ADDED, MODIFIED) instead of answering 410 Gone; this checks
    that a replay leaves the cache right. The 410 itself is forced in
    tests/test_kube_gone.py (a restarted API server's cache begins after it).
    """
    backend = await started(kube_cluster, kube_namespace)
    recorder = Recorder(backend)
    core = client.CoreV1Api(kube_cluster._admin())
    try:
        informer = backend.informers["nodes"]
        watches = informer.watches
        await asyncio.to_thread(compact_etcd, kube_cluster)
        informer.break_watch(resource_version="1")
        await wait_for(lambda: informer.watches > watches, 15, "a new watch")
        await asyncio.sleep(1.0)
        assert sorted(backend.store.nodes) == sorted(p[0] for p in PONIES)
        assert backend.snapshot().connected
        await asyncio.to_thread(core.patch_node, "pinkie-pie", {"spec": {"unschedulable": True}})
        await wait_for(lambda: backend.store.nodes["pinkie-pie"].cordoned, 5, "the cordon")
    finally:
        await asyncio.to_thread(core.patch_node, "pinkie-pie", {"spec": {"unschedulable": None}})
        await recorder.close()
        await backend.stop()


async def test_actions_go_through_the_api_and_come_back_through_the_watches(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = await started(kube_cluster, kube_namespace)
    try:
        node = await backend.set_cordoned("fluttershy", True)
        assert node.cordoned
        await wait_for(lambda: backend.store.nodes["fluttershy"].cordoned, 5, "cordon watched")
        await backend.set_cordoned("fluttershy", False)
        await wait_for(lambda: not backend.store.nodes["fluttershy"].cordoned, 5, "uncordon")

        body = pony_job("Retry.mkv", "vid-retry", fail=True, run_duration="1s")
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        await wait_for(
            lambda: (j := backend.store.items.get("vid-retry")) and j.state is JobState.FAILED,
            40,
            "the item failed",
        )
        with pytest.raises(BackendError, match="nothing to cancel"):
            await backend.cancel("vid-retry")
        retried = await backend.retry("vid-retry")
        assert retried.retries == 1
        again = await wait_for(
            lambda: (j := backend.store.items.get("vid-retry")) and j.retries == 1 and j,
            20,
            "the recreated Job watched",
        )
        assert again.reason and "exit code 1" in again.reason  # the last reason is kept

        body = pony_job("Cancel.mkv", "vid-cancel", start_delay="300s")
        await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
        await wait_for(lambda: "vid-cancel" in backend.store.items, 20, "the item")
        cancelled = await backend.cancel("vid-cancel")
        assert cancelled.state is JobState.CANCELLED
        await wait_for(lambda: "vid-cancel" not in backend.store.items, 30, "the item gone")
    finally:
        await backend.stop()


FOLLOW_WITHOUT_TYPED_API = """
import asyncio, sys
from ponyconsole.backends.kube.backend import KubeBackend
from ponyconsole.backends.kube.config import load_cluster_config

async def main():
    config = load_cluster_config(sys.argv[1], namespace=sys.argv[2])
    backend = KubeBackend(cluster=config, agents=False)
    await backend.start()
    try:
        await asyncio.wait_for(backend.first_sync.wait(), 30)
        for _ in range(300):
            item = backend.store.items.get(sys.argv[3])
            if item is not None and item.progress is not None:
                break
            await asyncio.sleep(0.1)
        else:
            raise SystemExit("no progress within 30 s")
        typed = [m for m in ("kubernetes.client.api.core_v1_api",
                             "kubernetes.client.api.batch_v1_api") if m in sys.modules]
        print("percent", item.progress.overall_percent, "typed", typed)
    finally:
        await backend.stop()

asyncio.run(main())
"""


async def test_following_a_log_reads_it_without_the_typed_api_classes(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
) -> None:
    """The followers start on the event loop: importing CoreV1Api there (274 models) would
    freeze the console ~1 s the first time a transcode is followed. A fresh process proves
    the log came through untyped requests (raw_api.RawPodLogs)."""
    update = Progress(ProgressState.WORKING, 1, 1, 42.0, 42.0, fps=25.0, eta_seconds=9)
    log = tmp_path / "untyped.log"
    write_cri_log(log, [json.dumps(update.as_json())])
    await asyncio.to_thread(_serve, kube_cluster, kube_namespace, log)
    body = pony_job("Untyped.mkv", "vid-untyped", run_duration="120s")
    await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", FOLLOW_WITHOUT_TYPED_API, str(kube_cluster.kubeconfig),
         kube_namespace, "vid-untyped"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["percent", "42.0", "typed", "[]"], done.stdout
