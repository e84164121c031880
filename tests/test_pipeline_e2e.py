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
import random
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client
from textual.widgets import Static

from cluster.executor import Executor
from cluster.kwokctl import EXECUTOR_IMAGE
from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.templates import load_manifests
from ponyconsole.demo import settle
from ponyconsole.domain import kube_names as kn
from ponyconsole.domain.models import Job, JobState
from ponyconsole.pipeline.jobchain import Rip, Target, ensure_chain, rip_of
from ponyconsole.pipeline.share import Share, claim
from ponyconsole.ui import palette
from ponyconsole.ui.render_jobs import render_row
from ponyconsole.ui.screens.confirm import Confirm
from ponyconsole.ui.screens.job_detail import JobDetailScreen
from tests.fake_plex import FakePlex
from tests.kube_support import apply_docs
from tests.pipeline_support import WatcherProcess, pipeline_jobs
from tests.test_ui_cluster import shown
from tests.test_ui_cluster_real import console, select, until

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
    assert list((rig.share / "work" / "movies").iterdir()) == [], "work/movies/<id>/ removed"
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


async def test_a_broken_rip_fails_with_handbrakes_reason_again_after_r_and_ends_in_fail(
    kube_cluster: PonyCluster, rig: Rig, tmp_path: Path
) -> None:
    started = time.monotonic()
    name = "Scratched Disc.mkv"
    garbage = random.Random(13).randbytes(200_000)
    source = tmp_path / name
    source.write_bytes(garbage)
    video = Rip("movies", name, len(garbage)).video
    fail = rig.share / "fail" / "movies"
    claimed = rig.share / "claim" / "movies" / name
    app, _backend = console(kube_cluster, rig.namespace)

    def ended_failed(retries: int) -> Job | None:
        job = item_of(app, video)
        if job is None or job.state is not JobState.FAILED or job.retries != retries:
            return None
        return job if len(job.stages) == 2 and all(s.state.finished for s in job.stages) else None

    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.backend.first_sync.is_set(), 20, "first sync")  # type: ignore[attr-defined]
        drop(source, rig, name)
        first = await until(pilot, lambda: ended_failed(0), 90, "the item failed")
        assert first.reason and "HandBrake: No title found." in first.reason, first.reason
        assert [s.state for s in first.stages] == [JobState.FAILED, JobState.FAILED]
        assert (fail / name).read_bytes() == garbage and not claimed.exists()
        reason_file = fail / f"{name}.reason"
        assert reason_file.read_text().startswith("HandBrake: No title found.")
        # the upload did not hang: its wait-job failed within seconds of the transcode
        (transcode,) = rig.executor.ran(container="transcode")
        (wait,) = rig.executor.ran(container="wait-job")
        assert transcode.code == 1 and wait.code == 1
        assert wait.ended is not None and transcode.ended is not None
        first_wait = wait.ended - transcode.ended
        assert first_wait < 10, f"wait-job exited {first_wait:.1f} s after the transcode"
        assert not rig.executor.ran(container="upload"), "the upload never ran"
        await until(pilot, lambda: app.check_action("retry", ()) is True, 10, "permissions")
        await select(pilot, app, first)
        await pilot.press("r")
        second = await until(pilot, lambda: ended_failed(1), 90, "the retried item failed")
        assert second.reason and "HandBrake: No title found." in second.reason, second.reason
        row = render_row(second, 156, time.time(), palette.palette_of(app.job_list)).plain
        assert "transcode: HandBrak" in row, row  # the reason column (cut to its width)
        await select(pilot, app, second)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), 5, "the detail")
        await pilot.pause(0.3)
        fields = shown(app.screen.query_one("#detail-fields", Static))
        assert "HandBrake: No title found." in fields, fields
    transcodes = rig.executor.ran(container="transcode")
    waits = rig.executor.ran(container="wait-job")
    assert [r.code for r in transcodes] == [1, 1] and [r.code for r in waits] == [1, 1]
    assert waits[1].ended is not None and transcodes[1].ended is not None
    assert waits[1].ended - transcodes[1].ended < 10
    # the retry took the rip back from fail/ (HandBrake saw it again, not "source not found"),
    # and the second failure put it there again: one rip, one reason, nothing lost
    assert sorted(p.name for p in fail.iterdir()) == [name, f"{name}.reason"]
    assert (fail / name).read_bytes() == garbage and not claimed.exists()
    assert reason_file.read_text().startswith("HandBrake: No title found.")
    jobs = pipeline_jobs(kube_cluster.api_client(), rig.namespace)
    assert {j["metadata"]["annotations"][kn.RETRIES_ANNOTATION] for j in jobs} == {"1"}
    print(
        f"broken rip: {time.monotonic() - started:.1f} s in all; wait-job exited"
        f" {first_wait:.2f} s and {waits[1].ended - transcodes[1].ended:.2f} s after the transcode"
    )


async def test_x_on_a_running_item_moves_its_rip_from_claim_to_fail_as_cancelled(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
) -> None:
    """No executor runs here: the executor-image pods stay Running until cancelled."""
    share_dir = tmp_path / "share"
    share = Share(share_dir)
    share.ensure("movies")
    rip = share.folder("watch", "movies") / "Unwanted (1999).mkv"
    rip.write_bytes(b"a rip the user changed their mind about" * 100)
    claimed = claim(share, rip, "movies")
    api = kube_cluster.api_client()
    apply_docs(api, load_manifests("rbac-pipeline.yaml", kube_namespace))
    target = Target(kube_namespace, share, EXECUTOR_IMAGE, str(share_dir))
    chain = ensure_chain(api, rip_of(claimed, "movies", None, PRESET), target)
    app, _backend = console(kube_cluster, kube_namespace, "--inbox", str(share_dir))
    async with app.run_test(size=(160, 48)) as pilot:
        running = await until(
            pilot,
            lambda: (j := item_of(app, chain.video)) and j.state is JobState.RUNNING and j,
            30,
            "the item running",
        )
        await until(pilot, lambda: app.check_action("cancel_job", ()) is True, 10, "permissions")
        await select(pilot, app, running)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, Confirm), 5, "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: not pipeline_jobs(api, kube_namespace), 30, "the Jobs deleted")
        await until(pilot, lambda: item_of(app, chain.video) is None, 10, "the item gone")
    fail = share.folder("fail", "movies")
    assert not claimed.exists()
    assert (fail / claimed.name).read_bytes() == b"a rip the user changed their mind about" * 100
    assert (fail / f"{claimed.name}.reason").read_text() == "cancelled in the console\n"
    assert list(share.folder("watch", "movies").iterdir()) == [], "not back in watch/"


async def test_an_upload_refused_by_plex_is_retried_alone_with_r_and_finishes(
    kube_cluster: PonyCluster, rig: Rig, clip: Path
) -> None:
    """Plex refuses the token: the rip goes to fail/; once Plex takes it, r retries the upload
    only (the transcode's verified output is kept), which takes the rip back and finishes."""
    name = "Plex Was Down.mp4"
    video = Rip("movies", name, clip.stat().st_size).video
    rig.rip = rig.share / "claim" / "movies" / name
    rig.plex.unauthorized = True
    app, _backend = console(kube_cluster, rig.namespace)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.backend.first_sync.is_set(), 20, "first sync")  # type: ignore[attr-defined]
        drop(clip, rig, name)

        def upload_failed() -> Job | None:
            job = item_of(app, video)
            states = [s.state for s in job.stages] if job else []
            return job if states == [JobState.SUCCEEDED, JobState.FAILED] else None

        failed = await until(pilot, upload_failed, 120, "the upload failed")
        assert failed.reason and "401" in failed.reason, failed.reason
        assert TOKEN not in failed.reason
        assert (rig.share / "fail" / "movies" / name).exists() and not rig.rip.exists()
        rig.plex.unauthorized = False
        await until(pilot, lambda: app.check_action("retry", ()) is True, 10, "permissions")
        await select(pilot, app, failed)
        await pilot.press("r")
        done = await until(
            pilot,
            lambda: (j := item_of(app, video)) and j.state is JobState.SUCCEEDED and j,
            90,
            "the item done",
        )
        assert done.retries == 1
    assert (rig.share / "library" / "movies" / "Plex Was Down.mkv").is_file()
    assert list((rig.share / "fail" / "movies").iterdir()) == []
    assert not rig.rip.exists() and list((rig.share / "work" / "movies").iterdir()) == []
    assert [r.code for r in rig.executor.ran(container="transcode")] == [0], "not transcoded again"
    assert [r.code for r in rig.executor.ran(container="upload")] == [1, 0]
