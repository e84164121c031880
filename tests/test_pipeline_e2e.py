"""The whole pipeline, end to end through the console, on the real test cluster.

A real clip is dropped into the share's inbox; a real ``ponyconsole watch`` process creates
the Jobs from the k8s/ templates; the test executor (cluster/executor.py) runs each pod's
commands on this machine (the real HandBrakeCLI, wait-job with the upload pod's own
ServiceAccount token, upload with the real plexapi against tests/fake_plex.py, the Plex
settings from the Secret); the console, through Pilot, follows the item. Then a broken rip:
HandBrake's reason, ``r``, the same failure again, the rip in fail/, no hanging upload.
"""

from __future__ import annotations

import base64
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from cluster.executor import Executor
from cluster.kwokctl import EXECUTOR_IMAGE
from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.templates import load_manifests
from ponyconsole.demo import settle
from ponyconsole.domain.models import Job, JobState
from ponyconsole.pipeline.jobchain import Rip
from ponyconsole.ui import palette
from ponyconsole.ui.render_jobs import render_row
from tests.fake_plex import FakePlex
from tests.kube_support import apply_docs
from tests.pipeline_support import WatcherProcess, pipeline_jobs
from tests.test_ui_cluster_real import console, until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]

TOKEN = "e2e-t0ken/+secret"
PRESET = "Very Fast 480p30"  # a fast preset: the clip is small, the test is about the pipeline


@dataclass
class Rig:
    share: Path
    namespace: str
    plex: FakePlex
    executor: Executor
    watcher: WatcherProcess
    seen: list[tuple[str, bool]]  # (Plex request path, whether the rip existed then)
    rip: Path | None = None


@pytest.fixture
def rig(kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path) -> Iterator[Rig]:
    share = tmp_path / "share"
    for stage in ("watch/movies", "claim", "work", "fail", "library/movies"):
        (share / stage).mkdir(parents=True)
    api = kube_cluster.api_client()
    apply_docs(api, load_manifests("rbac-pipeline.yaml", kube_namespace))
    seen: list[tuple[str, bool]] = []
    plex = FakePlex(TOKEN, {"Movies": share / "library" / "movies"})
    rig_box: list[Rig] = []
    plex.on_request = lambda path: seen.append(
        (path, bool(rig_box and rig_box[0].rip and rig_box[0].rip.exists()))
    )
    plex.start()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ponyconsole-plex", "namespace": kube_namespace},
        "data": {
            k: base64.b64encode(v.encode()).decode()
            for k, v in {"PLEX_URL": plex.url, "PLEX_TOKEN": TOKEN}.items()
        },
    }
    client.CoreV1Api(api).create_namespaced_secret(kube_namespace, secret)
    executor = Executor(
        kube_cluster.kubeconfig,
        kube_namespace,
        tmp_path / "executor",
        path=str(Path(sys.executable).parent),
    ).start()
    watcher = WatcherProcess(
        share,
        kube_cluster.kubeconfig,
        kube_namespace,
        settle=0.5,
        extra=("--image", EXECUTOR_IMAGE, "--share-host-path", str(share), "--preset", PRESET),
    )
    rig = Rig(share, kube_namespace, plex, executor, watcher, seen)
    rig_box.append(rig)
    try:
        yield rig
    finally:
        log = watcher.stop()
        executor.stop()
        plex.stop()
        api.close()
        if executor.errors:
            print("executor:", *executor.errors, sep="\n  ")
        print("watcher:", log)


def drop(source: Path, rig: Rig, name: str) -> Path:
    rip = rig.share / "watch" / "movies" / name
    shutil.copyfile(source, rip)
    settle(rip)
    return rip


def item_of(app, video: str) -> Job | None:  # type: ignore[no-untyped-def]
    return app.job_list.jobs.get(video)


async def test_a_clip_goes_from_the_inbox_to_plex_through_the_console(
    kube_cluster: PonyCluster, rig: Rig, encode_clip: Path
) -> None:
    started = time.monotonic()
    name = "Big Buck Pony (2026).mp4"
    size = encode_clip.stat().st_size
    video = Rip("movies", name, size).video
    rig.rip = rig.share / "claim" / "movies" / name
    app, _backend = console(kube_cluster, rig.namespace)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.backend.first_sync.is_set(), 20, "first sync")  # type: ignore[attr-defined]
        drop(encode_clip, rig, name)
        percents: list[float] = []

        def watch_progress() -> Job | None:
            job = item_of(app, video)
            if job and job.progress and job.state is JobState.RUNNING:
                pct = job.progress.overall_percent
                if pct is not None and (not percents or percents[-1] != pct):
                    percents.append(pct)
            return job if job and job.state is JobState.SUCCEEDED else None

        done = await until(pilot, watch_progress, 150, "the item done")
        assert len(set(percents)) >= 2, f"progress did not move on screen: {percents}"
        assert percents == sorted(percents), percents
        assert [s.state for s in done.stages] == [JobState.SUCCEEDED, JobState.SUCCEEDED]
        row = render_row(done, 156, time.time(), palette.palette_of(app.job_list)).plain
        assert "Big Buck Pony" in row
    placed = rig.share / "library" / "movies" / "Big Buck Pony (2026).mkv"
    assert placed.is_file() and placed.stat().st_size > 0
    assert not rig.rip.exists(), "the rip is removed once Plex shows the film"
    assert not (rig.share / "watch" / "movies" / name).exists()
    assert list((rig.share / "fail").iterdir()) == []
    assert rig.plex.refreshes == ["1"]
    plex_calls = [path for path, _ in rig.seen]
    assert "/library/sections/1/refresh" in plex_calls and "/library/sections/1/all" in plex_calls
    # the order: every request to Plex (the refresh, the check that shows the film) came
    # while the rip was still there; it went only after Plex had answered
    assert all(existed for _path, existed in rig.seen), rig.seen
    assert set(rig.plex.tokens_seen) == {TOKEN}
    jobs = pipeline_jobs(kube_cluster.api_client(), rig.namespace)
    for job in jobs:
        assert TOKEN not in str(job), "the token is never in a Job's spec"
    names = {r.container: r for r in rig.executor.ran()}
    assert set(names) == {"transcode", "wait-job", "upload"}
    assert all(r.code == 0 for r in names.values()), names
    # wait-job waited for the transcode: it ended after the transcode did
    assert names["wait-job"].ended and names["transcode"].ended
    assert names["wait-job"].ended >= names["transcode"].ended
    print(
        f"e2e: {time.monotonic() - started:.1f} s in all; transcode"
        f" {names['transcode'].ended - names['transcode'].started:.1f} s;"
        f" progress seen on screen {percents}"
    )
