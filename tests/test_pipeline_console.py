"""`e` in cluster mode on the real test cluster: the share's watch/ folder, jobchain's Jobs.

The console is opened the way a user opens it (``--kubeconfig --namespace
--inbox <share>`` through choose_backend); the rip is a real clip scanned by
the real HandBrakeCLI; the Jobs are checked on the API server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import Button, OptionList

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.protocol import Action, BackendError, InboxChanged, NotAllowed
from ponyconsole.domain import kube_names as kn
from ponyconsole.domain.models import EnqueueRequest, JobState
from ponyconsole.ui.screens.enqueue import EnqueueScreen
from tests.kube_read_support import Recorder, backend_for, wait_for
from tests.pipeline_support import pipeline_jobs
from tests.test_ui_cluster_real import console, until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]


def place(clip: Path, share: Path, library: str, name: str) -> Path:
    folder = share / "watch" / library
    folder.mkdir(parents=True, exist_ok=True)
    rip = folder / name
    shutil.copyfile(clip, rip)
    old = time.time() - 3600
    os.utime(rip, (old, old))
    return rip


async def test_backend_lists_the_share_and_enqueues_through_jobchain(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path, clip: Path
) -> None:
    share = tmp_path / "share"
    rip = place(clip, share, "movies", "Ponyo (2008).mp4")
    backend = backend_for(kube_cluster, kube_namespace, inbox=str(share / "watch"))
    await backend.start()
    try:
        await wait_for(lambda: backend.first_sync.is_set(), 20, "first sync")
        await wait_for(
            lambda: Action.ENQUEUE in backend.snapshot().permissions.allowed, 15, "RBAC learned"
        )
        (disc,) = await backend.list_rips()
        assert disc.path == str(rip) and disc.library == "movies"
        assert disc.copying, "first seen now: settling (5 s), whatever its old mtime"
        settled_at = time.monotonic()
        while (await backend.list_rips())[0].copying:
            assert time.monotonic() - settled_at < 10, "never settled"
            await asyncio.sleep(0.5)
        assert "movies" in backend.libraries()
        assert backend.presets()[0] == "H.264 MKV 1080p30"
        scanned = await backend.scan(str(rip))
        assert scanned.titles and scanned.main_title is not None, "titles from HandBrakeCLI --scan"
        request = EnqueueRequest(str(rip), "", "H.264 MKV 1080p30", None)
        started = time.monotonic()
        job = await backend.enqueue(request)
        print(f"enqueue took {time.monotonic() - started:.2f} s (settle waited by the inbox)")
        claimed = share / "claim" / "movies" / rip.name
        assert claimed.exists() and not rip.exists()
        assert job.kube_name == "ponyo-2008-mp4-transcode" and job.state is JobState.QUEUED
        assert job.source == "/share/claim/movies/Ponyo (2008).mp4"
        jobs = pipeline_jobs(kube_cluster.api_client(), kube_namespace)
        assert sorted(j["metadata"]["name"] for j in jobs) == [
            "ponyo-2008-mp4-transcode",
            "ponyo-2008-mp4-upload",
        ]
        assert {j["metadata"]["labels"][kn.VIDEO_LABEL] for j in jobs} == {job.id}
        await wait_for(lambda: job.id in backend.store.items, 10, "the item from the informer")
        # the rip is gone from watch/: enqueueing it again is refused, nothing is created
        with pytest.raises(BackendError, match="no such rip"):
            await backend.enqueue(request)
        assert len(pipeline_jobs(kube_cluster.api_client(), kube_namespace)) == 2
        assert await backend.list_rips() == []
    finally:
        await backend.stop()


async def test_without_a_share_enqueue_is_refused_with_the_option_to_use(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    backend = backend_for(kube_cluster, kube_namespace)
    await backend.start()
    try:
        await wait_for(lambda: backend.first_sync.is_set(), 20, "first sync")
        refusal = backend.snapshot().permissions.refusal(Action.ENQUEUE)
        assert refusal and "--inbox" in refusal
        with pytest.raises(NotAllowed, match="--inbox"):
            await backend.list_rips()
        await asyncio.sleep(1.0)  # RBAC learned meanwhile: still refused without a share
        assert backend.snapshot().permissions.refusal(Action.ENQUEUE)
    finally:
        await backend.stop()


async def test_e_in_the_console_enqueues_a_rip_from_the_share_and_the_item_appears(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path, clip: Path
) -> None:
    share = tmp_path / "share"
    place(clip, share, "kids", "My Neighbor Totoro.mp4")
    app, _backend = console(kube_cluster, kube_namespace, "--inbox", str(share))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query("PonyTile"), 15, "tiles")
        await until(
            pilot,
            lambda: Action.ENQUEUE in app.backend.snapshot().permissions.allowed,
            15,
            "enqueue allowed",
        )
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EnqueueScreen), 5, "the dialog")
        screen = app.screen
        assert isinstance(screen, EnqueueScreen)
        await until(
            pilot, lambda: screen.query_one("#rips", OptionList).option_count == 1, 15, "one rip"
        )
        await until(pilot, lambda: not screen.query_one("#enqueue", Button).disabled, 30, "scanned")
        await pilot.press("ctrl+s")
        job = await until(
            pilot,
            lambda: next(
                (j for j in app.job_list.jobs.values() if j.kube_name and "totoro" in j.kube_name),
                None,
            ),
            30,
            "the item in the job list",
        )
        assert job.library == "kids"
        assert not isinstance(app.screen, EnqueueScreen)
    names = sorted(
        j["metadata"]["name"] for j in pipeline_jobs(kube_cluster.api_client(), kube_namespace)
    )
    assert names == ["my-neighbor-totoro-mp4-transcode", "my-neighbor-totoro-mp4-upload"]
    assert (share / "claim" / "kids" / "My Neighbor Totoro.mp4").exists()


async def test_the_share_tells_of_a_rip_dropped_into_watch_with_inbox_changed(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path, clip: Path
) -> None:
    share = tmp_path / "share"
    (share / "watch" / "movies").mkdir(parents=True)
    backend = backend_for(kube_cluster, kube_namespace, inbox=str(share / "watch"))
    await backend.start()
    recorder = Recorder(backend)
    try:
        await wait_for(lambda: backend.first_sync.is_set(), 20, "first sync")
        await wait_for(lambda: recorder.of(InboxChanged), 10, "the first look at the share")
        assert recorder.of(InboxChanged)[-1].rips == ()
        dropped = time.monotonic()
        rip = place(clip, share, "tv", "Bluey S01E01.mkv")
        seen = await wait_for(
            lambda: [e for e in recorder.of(InboxChanged) if e.rips], 10, "InboxChanged"
        )
        print(f"InboxChanged {time.monotonic() - dropped:.2f} s after the drop")
        (disc,) = seen[0].rips
        assert disc.path == str(rip) and disc.library == "tv" and disc.copying
        await wait_for(
            lambda: any(e.rips and not e.rips[0].copying for e in recorder.of(InboxChanged)),
            15,
            "InboxChanged once it settled (5 s)",
        )
        assert "tv" in backend.libraries()
        rip.unlink()
        await wait_for(lambda: recorder.of(InboxChanged)[-1].rips == (), 10, "gone again")
    finally:
        await recorder.close()
        await backend.stop()
