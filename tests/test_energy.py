"""Wh per transcode: a real encode in local mode against watts x time; the cluster's meter
across an agent restart; the stored figure survives a restart and old queues get the column."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from ponyconsole.backends.kube.agent_link import EnergyMeter
from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.queue import JobQueue
from ponyconsole.backends.protocol import NodeChanged
from ponyconsole.domain.models import EnqueueRequest, JobState, NodeMetrics
from ponyconsole.ui.render_jobs import fmt_wh
from tests.local_support import TEST_PRESET, long_clip_in, place, settings_for, wait_job


def test_the_meter_counts_joules_between_start_and_end_and_an_agent_restart_is_never_negative() -> (
    None
):
    meter = EnergyMeter()
    meter.started("a", "rarity", 1000.0)
    meter.reading("rarity", 1360.0)  # +360 J
    meter.reading("applejack", 99999.0)  # another node: not a's
    meter.reading("rarity", 20.0)  # the agent restarted: its counter began again at 0
    meter.reading("rarity", 740.0)  # +720 J
    wh = meter.ended("a")
    assert wh == pytest.approx((360 + 20 + 720) / 3600)
    assert meter.ended("a") == wh  # asked again: the same
    meter.started("b", "rarity", None)  # no figures yet when it started
    assert meter.ended("b") is None
    meter.started("c", "rarity", None)
    meter.reading("rarity", 800.0)
    meter.reading("rarity", 1160.0)
    assert meter.ended("c") == pytest.approx(0.1)


def test_wh_is_shown_in_five_cells() -> None:
    assert [fmt_wh(v) for v in (0.4234, 12.34, 1234.5)] == ["0.42", "12.3", "1234"]


def test_the_energy_column_is_added_to_an_old_queue_and_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
        " source TEXT NOT NULL, library TEXT NOT NULL, preset TEXT NOT NULL, state TEXT NOT NULL,"
        " title INTEGER, output TEXT, node TEXT, progress TEXT, created_at REAL NOT NULL,"
        " started_at REAL, finished_at REAL, retries INTEGER NOT NULL DEFAULT 0, reason TEXT,"
        " stage TEXT NOT NULL DEFAULT 'transcode', command TEXT NOT NULL DEFAULT '[]',"
        " source_size INTEGER NOT NULL DEFAULT 0, source_duration REAL, pid INTEGER,"
        " pgid INTEGER, owner_pid INTEGER, owner_started REAL,"
        " log_tail TEXT NOT NULL DEFAULT '[]')"
    )
    old.execute(
        "INSERT INTO jobs (id, source, library, preset, state, created_at)"
        " VALUES ('j1', '/in/a.mkv', 'movies', 'p', 'succeeded', 1.0)"
    )
    old.commit()
    old.close()
    with JobQueue(path) as queue:
        (row,) = queue.all()
        assert row is not None and row.job.energy_wh is None
        stored = queue.set_energy("j1", 1.25)
        assert stored is not None and stored.job.energy_wh == 1.25
    with JobQueue(path) as queue:
        again = queue.get("j1")
        assert again is not None and again.job.energy_wh == 1.25


@pytest.mark.handbrake
async def test_wh_of_a_real_transcode_in_local_mode_is_watts_times_time(
    tmp_path: Path, media_dir: Path
) -> None:
    backend = LocalBackend(settings_for(tmp_path, metrics_interval=0.2))
    events = backend.events()
    samples: list[NodeMetrics] = []

    async def record() -> None:
        async for event in events:
            if isinstance(event, NodeChanged) and event.node.metrics is not None:
                samples.append(event.node.metrics)

    recorder = asyncio.create_task(record())
    await backend.start()
    try:
        rip = place(long_clip_in(media_dir), tmp_path / "inbox" / "movies" / "long.mp4")
        job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
        done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED}, 90)
        assert done.state is JobState.SUCCEEDED, done.reason
        for _ in range(100):  # stored in a thread just after the finish
            done = next(j for j in backend.snapshot().jobs if j.id == job.id)
            if done.energy_wh is not None:
                break
            await asyncio.sleep(0.05)
        assert done.energy_wh is not None and done.energy_wh > 0
        assert done.started_at is not None and done.finished_at is not None
        seconds = done.finished_at - done.started_at
        during = [
            m.watts
            for m in samples
            if m.watts is not None and done.started_at <= m.sampled_at <= done.finished_at
        ]
        assert len(during) >= 3, "too few samples during the encode"
        expected = sum(during) / len(during) * seconds / 3600
        # the readings are taken at 0.2 s samples: at most one sample's energy off at each end
        slack = max(during) * 0.4 / 3600
        assert abs(done.energy_wh - expected) <= 0.15 * expected + slack, (
            done.energy_wh,
            expected,
            seconds,
        )
        rows = await asyncio.to_thread(backend._q.get, job.id)  # stored: survives a restart
        assert rows is not None and rows.job.energy_wh == done.energy_wh
    finally:
        await backend.stop()
        recorder.cancel()
