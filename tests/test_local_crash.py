"""kill -9 of the console mid-encode, and a clean stop mid-encode: the job is never lost.

The console is a real separate process (``python -m ponyconsole.backends.local.serve``)
so SIGKILL hits it exactly as it would hit a console on a pony.
"""

from __future__ import annotations

import json
import os
import queue
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


def _start_console(tmp_path: Path, rip: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "ponyconsole.backends.local.serve",
            "--data-dir", str(tmp_path / "data"), "--inbox", str(tmp_path / "inbox"),
            "--output", str(tmp_path / "library"), "--pony", "testpony",
            "--preset", TEST_PRESET, "--settle", "1", "--enqueue", str(rip),
        ],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_running_pid(console: subprocess.Popen[str], timeout: float = 60.0) -> tuple[str, int]:
    """The job and HandBrake pid of the console's first running event, within ``timeout``."""
    stdout = console.stdout
    assert stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # a thread, so that a silent console cannot block the test forever
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            raise AssertionError(f"console exited ({console.wait(timeout=10)}) before encoding")
        event = json.loads(line)
        if event.get("state") == "running" and event.get("pid"):
            return event["job"], event["pid"]
    raise AssertionError(f"the console reported no running HandBrake within {timeout} s")


async def test_kill_9_of_the_console_mid_encode(long_clip: Path, tmp_path: Path) -> None:
    rip = place(long_clip, tmp_path / "inbox" / "long.mp4")
    console = _start_console(tmp_path, rip)
    try:
        job_id, hb_pid = _wait_running_pid(console)
        time.sleep(0.5)
        assert psutil.Process(hb_pid).is_running()  # mid-encode
        os.kill(console.pid, signal.SIGKILL)
        console.wait(timeout=10)
    finally:
        console.kill()
        console.wait(timeout=10)
    # The HandBrake was in its own session: it may outlive the console (orphan) or die of a
    # broken pipe; either way, the next start must make sure it is gone before re-running.
    with JobQueue(tmp_path / "data" / "queue.sqlite3", owner=(0, 0.0)) as queue:
        assert queue.get(job_id).job.state is JobState.RUNNING  # as the crash left it
        queue.set_setting("cordoned", "1")  # start cordoned to look at the recovered job

    settings = settings_for(tmp_path)
    with HandBrakeWatch(tmp_path) as watch:
        backend = LocalBackend(settings)
        await within(backend.start(), 30, "the backend's start (recovery included)")
        try:
            assert handbrakes_under(tmp_path) == []  # the orphan group was killed
            (job,) = backend.snapshot().jobs
            assert job.state is JobState.INTERRUPTED
            assert job.reason == INTERRUPTED_REASON and job.retries == 0
            await backend.set_cordoned("testpony", False)
            done = await wait_job(backend, job_id, {JobState.SUCCEEDED, JobState.FAILED}, 60)
            assert done.state is JobState.SUCCEEDED, done.reason
            assert done.retries == 0
        finally:
            await within(backend.stop(), 30, "the backend's stop")
    assert watch.most <= 1  # never two HandBrakes for the job at once
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
