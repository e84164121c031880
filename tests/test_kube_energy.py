"""Wh per transcode in cluster mode survives a console restart: asked from the agent's history.

On the REAL test cluster, a transcode Job runs on rarity, whose real agent reads a
(fake) Kasa plug through python-kasa: a steady 0.928511 W from a real HS110's
recorded answer, so its Wh is known in advance (watts x the Job's own start and
end times). Another runs on applejack, whose agent estimates. The console shows
both figures when the transcodes end; a second console, opened after the first
is closed (nothing of the first is kept), shows them again.
"""

from __future__ import annotations

import asyncio

import pytest

from cluster.ponycluster import PonyCluster
from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui.render_jobs import fmt_wh, render_row
from tests.agent_support import AgentProcess, free_port, start_agent
from tests.fake_kasa import start_fake_plug
from tests.kube_read_support import create_job, pony_job
from tests.test_agent_kasa import RECORDED_WATTS
from tests.test_ui_cluster import laid_out
from tests.test_ui_cluster_real import console, tile, until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]


def finished(app: object, video: str) -> Job | None:
    job = app.job_list.jobs.get(video)  # type: ignore[attr-defined]
    return job if job is not None and job.state is JobState.SUCCEEDED else None


def transcode_seconds(job: Job) -> float:
    (stage,) = job.stages
    assert stage.started_at is not None and stage.finished_at is not None
    return stage.finished_at - stage.started_at


async def test_wh_of_finished_transcodes_is_shown_again_after_a_console_restart(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    plug = start_fake_plug("127.0.0.1")
    port = free_port("127.0.0.16")
    agents: list[AgentProcess] = []
    try:
        agents += await asyncio.gather(
            asyncio.to_thread(start_agent, "rarity", "127.0.0.16", port, "--kasa-host", plug.where),
            asyncio.to_thread(start_agent, "applejack", "127.0.0.15", port),
        )
        app, _ = console(kube_cluster, kube_namespace, "--agent-port", str(port))
        shown: dict[str, float] = {}
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: laid_out(app, 6), 15, "six laid-out tiles")
            for name in ("rarity", "applejack"):  # the agents' histories begin before the Jobs
                await until(pilot, lambda n=name: tile(app, n).node.metrics, 20, f"{name} read")  # type: ignore[union-attr]
            await pilot.pause(2)
            for video, node in (("vid-plugged", "rarity"), ("vid-estimated", "applejack")):
                body = pony_job(
                    f"{video}.mkv",
                    video,
                    run_duration="8s",
                    node_selector={"kubernetes.io/hostname": node},
                )
                await asyncio.to_thread(create_job, kube_cluster, kube_namespace, body)
            for video in ("vid-plugged", "vid-estimated"):
                done = await until(
                    pilot,
                    lambda v=video: (j := finished(app, v)) and j.energy_wh is not None and j,
                    60,
                    f"{video} finished with its Wh",
                )
                shown[video] = done.energy_wh
            plugged = finished(app, "vid-plugged")
            assert plugged is not None and plugged.node == "rarity"
            seconds = transcode_seconds(plugged)
            assert seconds >= 8
            assert shown["vid-plugged"] == pytest.approx(RECORDED_WATTS * seconds / 3600, rel=0.05)
            estimated = finished(app, "vid-estimated")
            assert estimated is not None and estimated.node == "applejack"
            hours = transcode_seconds(estimated) / 3600  # between --idle-watts and --max-watts
            assert 6 * hours * 0.9 <= shown["vid-estimated"] <= 28 * hours * 1.1

        # the console is closed and opened again: nothing of the first one is left
        again, _ = console(kube_cluster, kube_namespace, "--agent-port", str(port))
        async with again.run_test(size=(160, 48)) as pilot:
            for video, before in shown.items():
                after = await until(
                    pilot,
                    lambda v=video: (j := finished(again, v)) and j.energy_wh is not None and j,
                    30,
                    f"{video}'s Wh after the restart",
                )
                assert after.energy_wh == pytest.approx(before, rel=0.05, abs=0.0005)
            plugged = finished(again, "vid-plugged")
            assert plugged is not None and plugged.energy_wh is not None
            expected = RECORDED_WATTS * transcode_seconds(plugged) / 3600
            assert plugged.energy_wh == pytest.approx(expected, rel=0.05)
            row = render_row(plugged, 158, 0.0, _palette(again)).plain
            assert fmt_wh(plugged.energy_wh) in row
    finally:
        for agent in agents:
            agent.stop()
        plug.kill()


def _palette(app: object) -> object:
    from ponyconsole.ui import palette

    return palette.palette_of(app.job_list)  # type: ignore[attr-defined]
