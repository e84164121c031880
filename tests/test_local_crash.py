"""kill -9 of the console mid-encode, and a clean stop mid-encode: the job is never lost.

The runner is a real separate process (``ponyconsole serve``) so SIGKILL hits it
exactly as it would hit a console on a pony.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.queue import INTERRUPTED_REASON, JobQueue
from ponyconsole.domain.models import EnqueueRequest, JobState
from tests.local_support import (
    TEST_PRESET,
    handbrakes_under,
    long_clip_in,
    place,
    settings_for,
    wait_for_handbrakes,
    wait_job,
    within,
)
from tests.serve_support import Serve, encode_starts, handbrake_wrapper, ponyconsole, write_config

pytestmark = pytest.mark.handbrake


@pytest.fixture(scope="session")
def long_clip(media_dir: Path) -> Path:
    return long_clip_in(media_dir)


ROOT = Path(__file__).resolve().parents[1]


class HandBrakeWatch:
    """Samples our HandBrake processes every 20 ms; remembers the most seen at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.most = max(self.most, len(handbrakes_under(self.root)))
            time.sleep(0.02)

    def __enter__(self) -> HandBrakeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the HandBrake watch did not stop within 10 s"


def test_kill_9_of_serve_mid_encode(long_clip: Path, tmp_path: Path) -> None:
    """SIGKILL of the real `ponyconsole serve` while its HandBrake runs: exactly one
    interrupted run and one completed run of the job, never at once, one output file.

    HandBrake starts are counted by a wrapper given as the HandBrake path (it logs
    "start <pid> <argv>" and execs the real HandBrakeCLI)."""
    wrapper, runs = handbrake_wrapper(tmp_path)
    write_config(tmp_path, handbrake=str(wrapper))
    rip = place(long_clip, tmp_path / "inbox" / "long.mp4")
    enqueued = ponyconsole(tmp_path, "enqueue", str(rip))
    assert enqueued.returncode == 0, enqueued.stderr
    (listed,) = json.loads(ponyconsole(tmp_path, "jobs", "--json").stdout)
    job_id = listed["id"]
    assert enqueued.stdout.startswith(job_id[:8])
    with HandBrakeWatch(tmp_path) as watch:
        first = Serve(tmp_path)
        try:
            match = first.wait_line(r"long\.mp4 running \(HandBrake pid (\d+)", 60)
            hb_pid = int(match.group(1))
            time.sleep(0.5)
            assert psutil.Process(hb_pid).is_running()  # mid-encode
            os.kill(first.pid, signal.SIGKILL)
        finally:
            first.kill()
        assert first.proc.returncode == -signal.SIGKILL
        # The HandBrake was in its own session: it may outlive serve (orphan) or die of a
        # broken pipe; either way, the next start must make sure it is gone before re-running.
        with JobQueue(tmp_path / "data" / "queue.sqlite3", owner=(0, 0.0)) as queue:
            crashed = queue.get(job_id)
            assert crashed is not None and crashed.job.state is JobState.RUNNING  # as left
        second = Serve(tmp_path)
        try:
            second.wait_line(rf"{job_id[:8]} long\.mp4 interrupted: the previous runner died")
            second.wait_line(r"1 job, 1 waiting")
            done = second.wait_line(rf"{job_id[:8]} long\.mp4 (succeeded|failed)", 120)
            assert done.group(1) == "succeeded", second.lines
        finally:
            assert second.stop() == 0
    assert watch.most == 1  # never two HandBrakes for the job at once
    starts = encode_starts(runs)
    assert len(starts) == 2, starts  # one interrupted run, one completed run
    assert starts[0][0] == hb_pid and starts[1][0] != hb_pid
    with JobQueue(tmp_path / "data" / "queue.sqlite3", owner=(0, 0.0)) as queue:
        final = queue.get(job_id)
        assert final is not None and final.job.state is JobState.SUCCEEDED
        assert final.job.retries == 0
    outputs = sorted(p.name for p in (tmp_path / "library").rglob("*") if p.is_file())
    assert outputs == ["long.mkv"]


HOLDS_A_HANDBRAKE = """
import os, subprocess, sys
from pathlib import Path
from ponyconsole.backends.local.queue import JobQueue
queue = JobQueue(Path(sys.argv[1]))
row = queue.claim_next("testpony")
argv = ["HandBrakeCLI", "-i", sys.argv[2], "-o", sys.argv[3], "--preset", "Very Fast 480p30"]
# Output to /dev/null: this HandBrake gets no SIGPIPE when we die, a true orphan.
hb = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      start_new_session=True)
queue.set_process(row.job.id, hb.pid, hb.pid, tuple(argv))
print(hb.pid, flush=True)
os._exit(0)
"""


def test_recovery_kills_a_live_orphan_before_requeueing(long_clip: Path, tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    with JobQueue(db) as queue:
        queue.enqueue(
            job_id="orphan", source=str(long_clip), library="movies", preset=TEST_PRESET,
            title=None, output=str(tmp_path / "out.mkv"), source_size=1, source_duration=20.0,
        )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", HOLDS_A_HANDBRAKE, str(db), str(long_clip), str(tmp_path / "o.mkv")],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    orphan = psutil.Process(int(done.stdout))
    assert orphan.is_running() and orphan.status() != psutil.STATUS_ZOMBIE
    with JobQueue(db) as queue:
        (recovered,) = queue.recover()
        assert recovered.job.state is JobState.INTERRUPTED
        assert recovered.pid is None
    assert handbrakes_under(tmp_path) == []


async def test_clean_stop_mid_encode_interrupts_and_reruns(long_clip: Path, tmp_path: Path) -> None:
    rip = place(long_clip, tmp_path / "inbox" / "long.mp4")
    settings = settings_for(tmp_path)
    backend = LocalBackend(settings)
    await within(backend.start(), 30, "the backend's start")
    job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    await wait_job(backend, job.id, {JobState.RUNNING})
    await wait_for_handbrakes(tmp_path, timeout=30)
    await within(backend.stop(), 30, "the backend's stop mid-encode")
    assert handbrakes_under(tmp_path) == []
    with JobQueue(settings.db_path) as queue:
        stopped = queue.get(job.id).job
    assert stopped.state is JobState.INTERRUPTED and stopped.reason == INTERRUPTED_REASON
    assert not list((tmp_path / "library").rglob("*.mkv"))  # no partial left behind

    again = LocalBackend(settings)
    await within(again.start(), 30, "the backend's restart")
    try:
        done = await wait_job(again, job.id, {JobState.SUCCEEDED, JobState.FAILED}, 60)
        assert done.state is JobState.SUCCEEDED, done.reason
    finally:
        await within(again.stop(), 30, "the backend's stop")
