"""The durable queue: reopen, idempotent enqueue, exclusive claims, recovery of dead owners."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ponyconsole.backends.local.queue import INTERRUPTED_REASON, JobQueue, job_id_for
from ponyconsole.domain.models import JobState

ROOT = Path(__file__).resolve().parents[1]


def _enqueue(queue: JobQueue, name: str, title: int | None = None):
    job_id = job_id_for("movies", f"/inbox/{name}", 1234, title)
    return queue.enqueue(
        job_id=job_id,
        source=f"/inbox/{name}",
        library="movies",
        preset="Very Fast 480p30",
        title=title,
        output=f"/library/movies/{name}.mkv",
        source_size=1234,
        source_duration=8.0,
    )


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_jobs_survive_reopen(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    queue = JobQueue(db)
    row, created = _enqueue(queue, "a.mkv")
    claimed = queue.claim_next("pony")
    assert claimed is not None
    queue.finish(claimed.job.id, JobState.FAILED, "HandBrake: No title found.", ("line",))
    queue.set_setting("cordoned", "1")
    queue.close()

    again = JobQueue(db)
    (back,) = again.all()
    assert back.job.id == row.job.id and created
    assert back.job.state is JobState.FAILED
    assert back.job.reason == "HandBrake: No title found."
    assert back.log_tail == ("line",)
    assert again.get_setting("cordoned") == "1"
    assert again.db_journal_mode() == "wal"


def test_same_rip_twice_is_one_job(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "q.sqlite3")
    first, created1 = _enqueue(queue, "a.mkv")
    second, created2 = _enqueue(queue, "a.mkv")
    other_title, created3 = _enqueue(queue, "a.mkv", title=2)
    assert (created1, created2, created3) == (True, False, True)
    assert first.job.id == second.job.id != other_title.job.id
    assert len(queue.all()) == 2


def test_retry_and_cancel_transitions(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "q.sqlite3")
    row, _ = _enqueue(queue, "a.mkv")
    claimed = queue.claim_next("pony")
    assert claimed is not None
    queue.finish(row.job.id, JobState.FAILED, "boom", ())
    retried = queue.retry(row.job.id)
    assert retried.job.state is JobState.QUEUED
    assert retried.job.retries == 1 and retried.job.reason == "boom"
    queue.cancel(row.job.id)
    assert queue.get(row.job.id).job.state is JobState.CANCELLED
    assert [r.job.id for r in queue.retry_failed()] == []
    assert queue.retry(row.job.id).job.retries == 2


CLAIMER = """
import json, sys
from pathlib import Path
from ponyconsole.backends.local.queue import JobQueue
queue = JobQueue(Path(sys.argv[1]))
got = []
while (row := queue.claim_next("pony")) is not None:
    got.append(row.job.id)
print(json.dumps(got))
"""


def test_claim_is_exclusive_across_processes(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    queue = JobQueue(db)
    ids = {_enqueue(queue, f"rip{i}.mkv")[0].job.id for i in range(60)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    claimed: list[str] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        claimed += json.loads(out)
    assert sorted(claimed) == sorted(ids)  # every job once, none twice
    owners = {r.owner_pid for r in queue.all()}
    assert queue.claim_next("pony") is None
    assert len(owners) >= 1 and None not in owners


DIES_HOLDING = """
import os, sys
from pathlib import Path
from ponyconsole.backends.local.queue import JobQueue
row = JobQueue(Path(sys.argv[1])).claim_next("pony")
print(row.job.id, flush=True)
os._exit(0)  # no finish, no close: as dead as kill -9 for the queue
"""


def test_running_job_of_dead_owner_is_interrupted_then_requeued(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    queue = JobQueue(db)
    row, _ = _enqueue(queue, "a.mkv")
    _enqueue(queue, "b.mkv")
    queue.close()
    job_id = _python(DIES_HOLDING, str(db)).stdout.strip()
    assert job_id == row.job.id

    reopened = JobQueue(db)
    assert reopened.get(job_id).job.state is JobState.RUNNING  # before recovery
    recovered = reopened.recover()
    assert [r.job.id for r in recovered] == [job_id]
    job = reopened.get(job_id).job
    assert job.state is JobState.INTERRUPTED
    assert job.reason == INTERRUPTED_REASON and job.retries == 0
    again = reopened.claim_next("pony")  # interrupted jobs go first
    assert again is not None and again.job.id == job_id
    assert again.owner_pid == reopened.owner_pid


def test_live_owner_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    first = JobQueue(db)
    _enqueue(first, "a.mkv")
    assert first.claim_next("pony") is not None
    second = JobQueue(db, owner=(1, 0.0))  # another console (pid 1 is alive)
    assert second.recover() == []
    assert second.all()[0].job.state is JobState.RUNNING
