"""The durable job queue: one SQLite row per job, transitions in single transactions.

Durability: WAL with ``synchronous=FULL``. In WAL mode NORMAL already survives
a killed process, but a power cut may drop the last commits; this machine
writes at most about one row a second (progress), so an fsync per commit is
cheap, and FULL means an enqueue, retry or cancel that the user saw succeed
is still there after the plug is pulled.

Exclusivity: the process that runs a job writes itself into ``owner_pid`` /
``owner_started`` (pid + process start time, so a recycled pid is not taken
for a live owner) in the same ``BEGIN IMMEDIATE`` transaction that flips the
job to RUNNING; SQLite's write lock makes that claim exclusive even between
two console processes on the same file. Finishing transitions are
conditional on still owning a RUNNING row, so a cancel from elsewhere wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ponyconsole.backends.local.processes import (
    is_handbrake,
    kill_group,
    process_alive,
    this_process,
)
from ponyconsole.domain.kube_names import stable_id
from ponyconsole.domain.models import Job, JobState, Progress
from ponyconsole.domain.naming import shown

INTERRUPTED_REASON = "interrupted: console stopped during encode"

# A retried job goes back to the queue with one more retry and a clean slate
# (the last failure reason is kept, so the console can still say why).
_REQUEUE = (
    "state = 'queued', retries = retries + 1, progress = NULL,"
    " started_at = NULL, finished_at = NULL, energy_wh = NULL"
)
RUNNABLE = (JobState.QUEUED.value, JobState.INTERRUPTED.value)
LOG_LINES_STORED = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    library TEXT NOT NULL,
    preset TEXT NOT NULL,
    state TEXT NOT NULL,
    title INTEGER,
    output TEXT,
    node TEXT,
    progress TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    stage TEXT NOT NULL DEFAULT 'transcode',
    command TEXT NOT NULL DEFAULT '[]',
    source_size INTEGER NOT NULL DEFAULT 0,
    source_duration REAL,
    pid INTEGER,
    pgid INTEGER,
    owner_pid INTEGER,
    owner_started REAL,
    log_tail TEXT NOT NULL DEFAULT '[]',
    energy_wh REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, seq);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _path_in(path: str) -> str | bytes:
    """A path as SQLite can store it: text, or its raw bytes when it is not valid UTF-8.

    Linux file names are bytes; one holding b"\\xff" reaches Python as a lone
    surrogate that SQLite's UTF-8 text refuses. Such a path is kept as a BLOB of
    its exact bytes, so HandBrake later gets the very same file name.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _path_out(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


job_id_for = stable_id  # the same id the cluster pipeline gives the same rip


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """A job row plus what only the local backend needs about it."""

    job: Job
    source_duration: float | None
    pid: int | None
    pgid: int | None
    owner_pid: int | None
    owner_started: float | None
    log_tail: tuple[str, ...]


def _progress_from_json(text: str | None) -> Progress | None:
    if not text:
        return None
    return Progress.from_json(json.loads(text))


def _json_list(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


def _row_to_queued(row: sqlite3.Row) -> QueuedJob:
    # A dict once per row: sqlite3.Row's lookups by name cost most of listing 5,000 jobs.
    r = dict(zip(row.keys(), row, strict=True))
    job = Job(
        id=r["id"],
        source=_path_out(r["source"]),
        library=r["library"],
        preset=r["preset"],
        state=JobState(r["state"]),
        title=r["title"],
        output=_path_out(r["output"]) if r["output"] is not None else None,
        node=r["node"],
        progress=_progress_from_json(r["progress"]),
        created_at=r["created_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        retries=r["retries"],
        reason=r["reason"],
        stage=r["stage"],
        command=_json_list(r["command"]),
        energy_wh=r.get("energy_wh"),
    )
    return QueuedJob(
        job=job,
        source_duration=r["source_duration"],
        pid=r["pid"],
        pgid=r["pgid"],
        owner_pid=r["owner_pid"],
        owner_started=r["owner_started"],
        log_tail=_json_list(r["log_tail"]),
    )


class JobQueue:
    """Thread-safe (one connection behind a lock); every method is blocking: call it in a thread."""

    def __init__(self, path: Path, owner: tuple[int, float] | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.owner_pid, self.owner_started = owner or this_process()
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=30000")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._add_columns()

    def _add_columns(self) -> None:
        """Columns added after a queue may have been made (``CREATE ... IF NOT EXISTS`` keeps
        an old table as it was)."""
        with self._lock:
            have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
            if "energy_wh" not in have:
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                    self._db.execute("ALTER TABLE jobs ADD COLUMN energy_wh REAL")

    def set_energy(self, job_id: str, energy_wh: float) -> QueuedJob | None:
        """What the pony drew while the job ran (Wh); the row."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET energy_wh = ? WHERE id = ?", (energy_wh, job_id))
            return self._get(db, job_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> JobQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction taken up front (BEGIN IMMEDIATE), so read-then-write is atomic."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _get(self, db: sqlite3.Connection, job_id: str) -> QueuedJob | None:
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_queued(row) if row else None

    # -- reads ---------------------------------------------------------------

    def get(self, job_id: str) -> QueuedJob | None:
        with self._lock:
            return self._get(self._db, job_id)

    def all(self) -> list[QueuedJob]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY seq").fetchall()
        return [_row_to_queued(r) for r in rows]

    def fingerprints(self) -> dict[str, tuple[str, int]]:
        """id -> (state, retries) of every job: what a follower compares to find changed rows.

        About 20x cheaper than ``all()`` (no JSON decoding), so following another
        writer costs little even with thousands of jobs.
        """
        with self._lock:
            rows = self._db.execute("SELECT id, state, retries FROM jobs").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def some(self, ids: list[str]) -> list[QueuedJob]:
        """The rows of these jobs plus every running one (whose progress moves)."""
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs WHERE state = 'running' OR id IN ({marks}) ORDER BY seq",
                ids,
            ).fetchall()
        return [_row_to_queued(r) for r in rows]

    def db_journal_mode(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def data_version(self) -> int:
        """Changes when another connection commits (cheap: no table read)."""
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- transitions ---------------------------------------------------------

    def enqueue(
        self,
        *,
        job_id: str,
        source: str,
        library: str,
        preset: str,
        title: int | None,
        output: str,
        source_size: int,
        source_duration: float | None,
        now: float | None = None,
    ) -> tuple[QueuedJob, bool]:
        """Insert the job unless it exists; returns (row, created)."""
        now = time.time() if now is None else now
        with self._tx() as db:
            existing = self._get(db, job_id)
            if existing is not None:
                return existing, False
            db.execute(
                "INSERT INTO jobs(id, source, library, preset, state, title, output, created_at,"
                " source_size, source_duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    _path_in(source),
                    library,
                    preset,
                    JobState.QUEUED.value,
                    title,
                    _path_in(output),
                    now,
                    source_size,
                    source_duration,
                ),
            )
            created = self._get(db, job_id)
        assert created is not None
        return created, True

    def claim_next(self, node: str, now: float | None = None) -> QueuedJob | None:
        """Take the oldest runnable job (interrupted ones first) for this process, atomically."""
        now = time.time() if now is None else now
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state IN (?, ?) "
                "ORDER BY state = 'interrupted' DESC, seq LIMIT 1",
                RUNNABLE,
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state = 'running', node = ?, started_at = ?, finished_at = NULL,"
                " progress = NULL, pid = NULL, pgid = NULL, owner_pid = ?, owner_started = ?"
                " WHERE id = ?",
                (node, now, self.owner_pid, self.owner_started, row["id"]),
            )
            return self._get(db, row["id"])

    def set_process(self, job_id: str, pid: int, pgid: int, command: tuple[str, ...]) -> bool:
        """Record the running HandBrake; False when the job was cancelled meanwhile."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET pid = ?, pgid = ?, command = ? "
                "WHERE id = ? AND state = 'running' AND owner_pid = ? AND owner_started = ?",
                (pid, pgid, json.dumps(command), job_id, self.owner_pid, self.owner_started),
            )
            return cur.rowcount == 1

    def set_output(self, job_id: str, output: str) -> QueuedJob | None:
        """Where the encode really went (its name was taken between enqueue and finish)."""
        with self._tx() as db:
            db.execute("UPDATE jobs SET output = ? WHERE id = ?", (_path_in(output), job_id))
            return self._get(db, job_id)

    def outputs(self) -> dict[str, str]:
        """job id -> output path of every job: names the enqueue must not hand out again."""
        with self._lock:
            rows = self._db.execute("SELECT id, output FROM jobs WHERE output IS NOT NULL")
            return {r[0]: _path_out(r[1]) for r in rows.fetchall()}

    def set_progress(
        self, job_id: str, progress: Progress | None, log_tail: tuple[str, ...]
    ) -> QueuedJob | None:
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, log_tail = ? WHERE id = ? AND state = 'running'"
                " AND owner_pid = ? AND owner_started = ?",
                (
                    json.dumps(progress.as_json()) if progress else None,
                    json.dumps(list(log_tail[-LOG_LINES_STORED:])),
                    job_id,
                    self.owner_pid,
                    self.owner_started,
                ),
            )
            return self._get(db, job_id)

    def finish(
        self,
        job_id: str,
        state: JobState,
        reason: str | None,
        log_tail: tuple[str, ...],
        progress: Progress | None = None,
        now: float | None = None,
    ) -> tuple[QueuedJob | None, bool]:
        """End a RUNNING job we own; (row, applied). Not applied when cancelled elsewhere."""
        now = time.time() if now is None else now
        finished_at = None if state is JobState.INTERRUPTED else now
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state = ?, reason = ?, finished_at = ?, pid = NULL, pgid = NULL,"
                " owner_pid = NULL, owner_started = NULL, log_tail = ?,"
                " progress = COALESCE(?, progress)"
                " WHERE id = ? AND state = 'running' AND owner_pid = ? AND owner_started = ?",
                (
                    state.value,
                    shown(reason) if reason is not None else None,
                    finished_at,
                    json.dumps(list(log_tail[-LOG_LINES_STORED:])),
                    json.dumps(progress.as_json()) if progress else None,
                    job_id,
                    self.owner_pid,
                    self.owner_started,
                ),
            )
            return self._get(db, job_id), cur.rowcount == 1

    def _existing(self, db: sqlite3.Connection, job_id: str) -> QueuedJob:
        """The row; KeyError when there is none (the backend says "no job ...")."""
        row = self._get(db, job_id)
        if row is None:
            raise KeyError(job_id)
        return row

    def cancel(self, job_id: str, now: float | None = None) -> QueuedJob:
        """Mark cancelled; the caller kills ``pgid`` of the returned row if it was running."""
        now = time.time() if now is None else now
        with self._tx() as db:
            before = self._existing(db, job_id)
            if not before.job.state.cancellable:
                raise ValueError(before.job.state.value)
            db.execute(
                "UPDATE jobs SET state = 'cancelled', reason = 'cancelled by user',"
                " finished_at = ?, owner_pid = NULL, owner_started = NULL, pid = NULL,"
                " pgid = NULL WHERE id = ?",
                (now, job_id),
            )
        return before

    def retry(self, job_id: str) -> QueuedJob:
        with self._tx() as db:
            before = self._existing(db, job_id)
            if not before.job.state.retryable:
                raise ValueError(before.job.state.value)
            db.execute(f"UPDATE jobs SET {_REQUEUE} WHERE id = ?", (job_id,))
            after = self._get(db, job_id)
        assert after is not None
        return after

    def retry_failed(self) -> list[QueuedJob]:
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM jobs WHERE state = 'failed'")]
            db.execute(f"UPDATE jobs SET {_REQUEUE} WHERE state = 'failed'")
            rows = [self._get(db, i) for i in ids]
        return [r for r in rows if r is not None]

    def recover(self) -> list[QueuedJob]:
        """RUNNING jobs whose owner is dead become INTERRUPTED (runnable); orphans are killed.

        The orphan HandBrake group is killed and waited for *before* the job is
        made runnable again, so one job never has two HandBrake processes.
        """
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE state = 'running'").fetchall()
        stale = [
            q
            for q in map(_row_to_queued, rows)
            if not process_alive(q.owner_pid, q.owner_started)
            and not (q.owner_pid == self.owner_pid and q.owner_started == self.owner_started)
        ]
        for q in stale:
            if q.pgid and is_handbrake(q.pid):
                kill_group(q.pgid)
        recovered = []
        with self._tx() as db:
            for q in stale:
                cur = db.execute(
                    "UPDATE jobs SET state = 'interrupted', reason = ?, pid = NULL, pgid = NULL,"
                    " owner_pid = NULL, owner_started = NULL"
                    " WHERE id = ? AND state = 'running' AND owner_pid IS ? AND owner_started IS ?",
                    (INTERRUPTED_REASON, q.job.id, q.owner_pid, q.owner_started),
                )
                if cur.rowcount:
                    row = self._get(db, q.job.id)
                    if row:
                        recovered.append(row)
        return recovered
