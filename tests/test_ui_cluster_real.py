"""The console through Pilot on the REAL test cluster: tiles, a cordon seen live, every key.

The console is opened the way a user opens it (``--kubeconfig``/``--namespace``
through choose_backend), and every key's result is checked on the API server's
objects, not only on the screen. The quick UI-only variants are in test_ui_cluster.py.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from textual.pilot import Pilot
from textual.widgets import Log, Static

from cluster.ponycluster import (
    OUTCOME_ANNOTATION,
    RUN_DURATION_ANNOTATION,
    PonyCluster,
    append_cri_log,
    write_cri_log,
)
from ponyconsole.backends.protocol import Backend
from ponyconsole.domain import kube_names as kn
from ponyconsole.domain.models import Job, JobState, Progress, ProgressState
from ponyconsole.ui import palette
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.choose_backend import open_backend
from ponyconsole.ui.render_jobs import render_row
from ponyconsole.ui.screens.confirm import Confirm
from ponyconsole.ui.screens.job_detail import JobDetailScreen
from ponyconsole.ui.widgets.pony_tile import PonyTile
from tests.kube_read_support import create_job as create_pony_job
from tests.kube_read_support import pony_job
from tests.kube_support import create_job, job_pods, read_job, transcode_job, wait_failed
from tests.test_console_startup import parse
from tests.test_ui_cluster import laid_out, shown, tile_text

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]

PONIES = ("twilight-sparkle", "rainbow-dash", "pinkie-pie", "fluttershy", "applejack", "rarity")


async def until(
    pilot: Pilot[None], check: Callable[[], Any], timeout: float = 30.0, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        await pilot.pause(0.02)
    return value


def console(cluster: PonyCluster, namespace: str, *options: str) -> tuple[PonyConsole, Backend]:
    args = parse("--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace, *options)
    backend = open_backend(args, local=lambda: pytest.fail("opened local mode"))
    return PonyConsole(backend), backend


def item(app: PonyConsole, name: str, state: JobState | None = None) -> Job | None:
    for job in app.job_list.jobs.values():
        if job.kube_name == name and (state is None or job.state is state):
            return job
    return None


async def select(pilot: Pilot[None], app: PonyConsole, job: Job) -> None:
    app.job_list.focus()
    app.job_list.cursor = [j.id for j in app.job_list.visible_jobs].index(job.id)
    await pilot.pause()


def tile(app: PonyConsole, node: str) -> PonyTile:
    return next(t for t in app.tiles() if t.node_name == node)


def unschedulable(cluster: PonyCluster, node: str) -> bool:
    return bool(client.CoreV1Api(cluster.api_client()).read_node(node).spec.unschedulable)


def uncordon(cluster: PonyCluster, node: str) -> None:
    client.CoreV1Api(cluster.api_client()).patch_node(node, {"spec": {"unschedulable": False}})


def notes_of(app: PonyConsole) -> list[str]:
    """Every notification the app shows from now on."""
    notes: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        notes.append(str(message))
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


async def test_the_console_opens_in_cluster_mode_with_six_pony_tiles(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    app, _ = console(kube_cluster, kube_namespace)
    started = time.monotonic()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 6), 10, "six laid-out tiles")
        first_paint = time.monotonic() - started
        header = app.status.render().plain
        assert header.startswith(
            f"ponyconsole cluster · {app.backend.context} · ns {kube_namespace}"
        )  # type: ignore[attr-defined]
        assert "6 ponies" in header
        assert {t.node_name for t in app.tiles()} == set(PONIES)
        for name in PONIES:
            text = await until(
                pilot,
                # "no agent" once its agent's first poll failed (none runs in this test)
                lambda n=name: "no agent" in tile_text(tile(app, n)) and tile_text(tile(app, n)),
                10,
            )  # type: ignore[misc]
            assert f"{name} · ready" in text
            assert "req CPU" in text and "/4 MEM" in text  # 4 CPU, 16Gi ponies
            assert "v1.35.4" in text and "no agent" in text
        assert "control plane" in tile_text(tile(app, "twilight-sparkle"))
        assert "control plane" not in tile_text(tile(app, "rarity"))
    assert first_paint < 10


async def test_a_node_cordoned_through_the_api_shows_on_its_tile_within_a_second(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    """Ten cordons and uncordons made with the API; each shows on the tile within 1 s."""
    app, _ = console(kube_cluster, kube_namespace)
    core = client.CoreV1Api(kube_cluster.api_client())
    delays: list[float] = []
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: laid_out(app, 6), 10)
            await until(pilot, lambda: "fluttershy · ready" in tile_text(tile(app, "fluttershy")))
            for i in range(10):
                cordon = i % 2 == 0
                core.patch_node("fluttershy", {"spec": {"unschedulable": cordon}})
                patched = time.monotonic()
                word = "cordoned" if cordon else "ready"

                def shown(word: str = word) -> bool:
                    return f"fluttershy · {word}" in tile_text(tile(app, "fluttershy"))

                await until(pilot, shown, 5, f"fluttershy {word}")
                delays.append(time.monotonic() - patched)
                assert tile(app, "fluttershy").has_class("-cordoned") is cordon
    finally:
        uncordon(kube_cluster, "fluttershy")
    delays.sort()
    sys.__stderr__.write(f"cordon -> tile: p50 {delays[4]:.3f} s, max {delays[-1]:.3f} s\n")
    assert delays[-1] < 1.0, delays


async def test_c_sets_and_clears_unschedulable(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    app, _ = console(kube_cluster, kube_namespace)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: laid_out(app, 6), 10)
            await until(pilot, lambda: app.check_action("cordon", ()) is True, 10, "permissions")
            tile(app, "applejack").focus()
            await pilot.press("c")
            await until(pilot, lambda: unschedulable(kube_cluster, "applejack"), 10, "cordoned")
            await until(pilot, lambda: "applejack · cordoned" in tile_text(tile(app, "applejack")))
            await pilot.press("c")
            await until(
                pilot, lambda: not unschedulable(kube_cluster, "applejack"), 10, "uncordoned"
            )
            await until(pilot, lambda: "applejack · ready" in tile_text(tile(app, "applejack")))
    finally:
        uncordon(kube_cluster, "applejack")


async def test_r_recreates_a_failed_job_with_its_retry_count(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    api = kube_cluster.api_client()
    ns, name = kube_namespace, "scratched-disc-transcode"
    first = create_job(api, transcode_job(ns, name, **{OUTCOME_ANNOTATION: "fail"}))
    wait_failed(api, ns, name)
    app, _ = console(kube_cluster, ns)
    async with app.run_test(size=(160, 48)) as pilot:
        failed = await until(pilot, lambda: item(app, name, JobState.FAILED), 15, "failed item")
        assert failed.reason
        await until(pilot, lambda: app.check_action("retry", ()) is True, 10, "permissions")
        await select(pilot, app, failed)
        await pilot.press("r")

        def recreated() -> dict[str, Any] | None:
            job = read_job(api, ns, name)
            return job if job and job["metadata"]["uid"] != first["metadata"]["uid"] else None

        new = await until(pilot, recreated, 20, "the Job recreated")
        assert new["metadata"]["annotations"][kn.RETRIES_ANNOTATION] == "1"
        assert new["metadata"]["annotations"][kn.LAST_REASON_ANNOTATION]
        shown = await until(pilot, lambda: (j := item(app, name)) and j.retries == 1 and j, 15)
        assert shown.reason  # the last reason is kept across the retry


async def test_x_deletes_the_job_after_confirmation(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    api = kube_cluster.api_client()
    ns, name = kube_namespace, "unwanted-rip-transcode"
    create_job(api, transcode_job(ns, name, **{RUN_DURATION_ANNOTATION: "120s"}))
    app, _ = console(kube_cluster, ns)
    async with app.run_test(size=(160, 48)) as pilot:
        running = await until(pilot, lambda: item(app, name, JobState.RUNNING), 30, "running")
        await until(pilot, lambda: app.check_action("cancel_job", ()) is not False, 10)
        await select(pilot, app, running)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, Confirm), 5, "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: read_job(api, ns, name) is None, 30, "the Job deleted")
        await until(pilot, lambda: item(app, name) is None, 10, "the item gone")


async def test_d_lists_the_pods_then_evicts_them(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    api = kube_cluster.api_client()
    core = client.CoreV1Api(api)
    ns, name = kube_namespace, "drained-rip-transcode"
    created = create_job(api, transcode_job(ns, name, **{RUN_DURATION_ANNOTATION: "120s"}))
    uid = created["metadata"]["uid"]

    def placed() -> dict[str, Any] | None:
        pods = [p for p in job_pods(api, ns, uid) if p["status"].get("phase") == "Running"]
        return pods[0] if pods else None

    app, _ = console(kube_cluster, ns)
    node = ""
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            pod = await until(pilot, placed, 30, "the Job's pod to run")
            node, pod_name = pod["spec"]["nodeName"], pod["metadata"]["name"]
            await until(pilot, lambda: laid_out(app, 6), 10)
            await until(pilot, lambda: app.check_action("drain", ()) is True, 10, "permissions")
            tile(app, node).focus()
            await pilot.pause()
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm), 10, "the confirmation")
            listed = " ".join(str(s.render()) for s in app.screen.query(Static))
            assert pod_name in listed
            await pilot.press("y")

            def evicted() -> bool:
                try:
                    live = core.read_namespaced_pod(pod_name, ns)
                except client.ApiException as error:
                    return error.status == 404
                return live.metadata.deletion_timestamp is not None

            await until(pilot, evicted, 30, f"{pod_name} evicted")
            assert unschedulable(kube_cluster, node)
    finally:
        if node:
            uncordon(kube_cluster, node)


async def test_read_only_refuses_every_key_up_front_and_changes_nothing(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    api = kube_cluster.api_client()
    ns = kube_namespace
    failed_name, busy_name = "failed-ro-transcode", "busy-ro-transcode"
    failed_job = create_job(api, transcode_job(ns, failed_name, **{OUTCOME_ANNOTATION: "fail"}))
    busy_job = create_job(api, transcode_job(ns, busy_name, **{RUN_DURATION_ANNOTATION: "120s"}))
    wait_failed(api, ns, failed_name)
    app, backend = console(kube_cluster, ns, "--read-only")
    assert backend.read_only
    async with app.run_test(size=(160, 48)) as pilot:
        failed = await until(pilot, lambda: item(app, failed_name, JobState.FAILED), 15)
        busy = await until(pilot, lambda: item(app, busy_name, JobState.RUNNING), 30)
        assert "read-only" in app.status.render().plain
        notes = notes_of(app)
        await select(pilot, app, failed)
        for key in ("r", "R"):
            await pilot.press(key)
            await pilot.pause()
        await select(pilot, app, busy)
        await pilot.press("x")
        await pilot.pause()
        tile(app, "rarity").focus()
        for key in ("c", "d", "e"):
            await pilot.press(key)
            await pilot.pause()
        assert not isinstance(app.screen, Confirm)
        assert len(notes) == 6, notes
        assert all("read-only" in note for note in notes), notes
    assert not unschedulable(kube_cluster, "rarity")
    still_failed, still_busy = read_job(api, ns, failed_name), read_job(api, ns, busy_name)
    assert still_failed and still_failed["metadata"]["uid"] == failed_job["metadata"]["uid"]
    assert still_busy and still_busy["metadata"]["uid"] == busy_job["metadata"]["uid"]
    assert still_failed["metadata"]["annotations"][kn.RETRIES_ANNOTATION] == "0"


async def test_an_unplaceable_item_says_pending_with_the_schedulers_words_and_enter_shows_its_job(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    body = pony_job("Nowhere.mkv", "vid-nowhere", node_selector={"ponyconsole/pony": "nope"})
    create_pony_job(kube_cluster, kube_namespace, body)
    app, _ = console(kube_cluster, kube_namespace)
    async with app.run_test(size=(80, 24)) as pilot:
        name = body["metadata"]["name"]
        pending = await until(pilot, lambda: item(app, name, JobState.PENDING), 30, "pending")
        assert pending.reason and pending.reason.startswith("0/6 nodes are available")
        row = render_row(pending, 78, time.time(), palette.palette_of(app.job_list)).plain
        assert "pending: 0/6 nodes" in row
        await select(pilot, app, pending)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), 5)
        await pilot.pause(0.3)
        fields = shown(app.screen.query_one("#detail-fields", Static))
        stages = shown(app.screen.query_one("#detail-stages", Static))
        assert "scheduler" in fields and "node affinity/selector" in fields
        assert f"{kube_namespace}/{name}" in fields
        assert "transcode" in stages and "pending" in stages and name in stages


async def test_enter_follows_the_running_transcodes_log_live_and_its_tile_shows_the_bar(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
) -> None:
    def update(percent: float) -> str:
        return json.dumps(Progress(ProgressState.WORKING, 1, 1, percent, percent).as_json())

    log = tmp_path / "transcode.log"
    write_cri_log(log, ["transcode: starting", update(10.0), update(25.0)])
    kube_cluster.serve_pod_logs(kube_namespace, log)
    body = pony_job("Followed.mkv", "vid-followed", run_duration="120s")
    create_pony_job(kube_cluster, kube_namespace, body)
    name = body["metadata"]["name"]
    app, _ = console(kube_cluster, kube_namespace)
    async with app.run_test(size=(160, 48)) as pilot:

        def progressing() -> Job | None:
            job = item(app, name, JobState.RUNNING)
            return job if job and job.progress and job.progress.overall_percent == 25.0 else None

        try:
            running = await until(pilot, progressing, 30, "the item at 25 %")
        except AssertionError as error:
            raise AssertionError(f"{error}; items: {list(app.job_list.jobs.values())}") from None
        assert running.node
        await until(pilot, lambda: "25%" in tile_text(tile(app, running.node)), 5, "tile bar")
        await select(pilot, app, running)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), 5)
        detail_log = app.screen.query_one(Log)
        await until(pilot, lambda: "transcode: starting" in "\n".join(detail_log.lines), 15)
        append_cri_log(log, [update(60.0), "transcode: a new line"])
        await until(pilot, lambda: "transcode: a new line" in "\n".join(detail_log.lines), 15)
        await pilot.press("escape")
        await until(pilot, lambda: "60%" in tile_text(tile(app, running.node)), 10, "tile 60%")
