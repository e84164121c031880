"""Runs HandBrakeCLI for claimed jobs, with bounded concurrency, and judges the result.

No shell: the argv is a list and the source follows ``-i`` as its own element,
so any file name (leading dash, quotes, newline, unicode) reaches HandBrake
as it is. Each HandBrake gets its own process group (session) so a cancel or
a recovery can kill it and anything it spawned at once. The encode is written
to a hidden ``.<name>.<job id>.partial.mkv`` and moved into the library only
after HandBrake exited 0 and the output exists, is non-empty and lasts as long
as the source; the move never replaces a library file (publish.py).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ponyconsole.backends.local.handbrake_path import handbrake_path
from ponyconsole.backends.local.output_paths import partial_path
from ponyconsole.backends.local.processes import kill_group
from ponyconsole.backends.local.publish import publish
from ponyconsole.backends.local.queue import INTERRUPTED_REASON, JobQueue, QueuedJob
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.domain.handbrake_progress import ProgressParser
from ponyconsole.domain.models import JobState, Progress
from ponyconsole.pipeline.handbrake_run import build_argv, exit_reason, verify_output

T = TypeVar("T")

LOG_LINES_KEPT = 200


class LogTail:
    """The last lines of HandBrake's merged output; ``\\r`` progress redraws collapse into one."""

    def __init__(self, keep: int = LOG_LINES_KEPT) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        parts = re.split(r"[\r\n]", text)
        self._pending = parts.pop()
        for line in parts:
            self._add(line)

    def close(self) -> None:
        if self._pending:
            self._add(self._pending)
            self._pending = ""

    def _add(self, line: str) -> None:
        line = line.rstrip()
        if not line:
            return
        if self.lines and line.startswith("Encoding:") and self.lines[-1].startswith("Encoding:"):
            self.lines[-1] = line
        else:
            self.lines.append(line)

    def tail(self) -> tuple[str, ...]:
        return tuple(self.lines)


class Runner:
    """The loop that claims queued jobs while there is room and the pony is not cordoned."""

    def __init__(
        self,
        settings: LocalSettings,
        queue: JobQueue,
        on_change: Callable[[QueuedJob], None],
        on_problem: Callable[[str | None], None] = lambda _problem: None,
    ) -> None:
        """`on_problem` hears "the queue cannot be written: ..." and None once it can again."""
        self.settings = settings
        self.queue = queue
        self.on_change = on_change
        self.on_problem = on_problem
        self._problem: str | None = None
        self.cordoned = False
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._logs: dict[str, LogTail] = {}
        self._interrupting: set[str] = set()
        self._stopping = False
        self._wake = asyncio.Event()

    # -- public --------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def running_ids(self) -> list[str]:
        """The jobs this runner encodes now (a cancel from another process stops them)."""
        return list(self._tasks)

    def log_tail(self, job_id: str) -> tuple[str, ...] | None:
        log = self._logs.get(job_id)
        return log.tail() if log is not None else None

    async def run_forever(self) -> None:
        while not self._stopping:
            self._wake.clear()
            while not self.cordoned and len(self._tasks) < self.settings.concurrency:
                claimed = await self._queue_call(self.queue.claim_next, self.settings.pony_name)
                if claimed is None or self._stopping:
                    break
                self.on_change(claimed)
                task = asyncio.create_task(self._run(claimed), name=f"encode-{claimed.job.id}")
                self._tasks[claimed.job.id] = task
                task.add_done_callback(lambda _t, job_id=claimed.job.id: self._done(job_id))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    async def kill(self, job_id: str) -> bool:
        """Kill our HandBrake for this job (whole group) and wait until its task is over."""
        task = self._tasks.get(job_id)
        proc = self._procs.get(job_id)
        if proc is not None:
            await asyncio.to_thread(kill_group, proc.pid)
        if task is not None:
            await asyncio.wait({task}, timeout=15)
            return True
        return False

    async def stop(self) -> None:
        """Kill running encodes; their jobs become INTERRUPTED and run again on the next start."""
        self._stopping = True
        self._wake.set()
        ids = list(self._tasks)
        self._interrupting.update(ids)
        await asyncio.gather(*(self.kill(job_id) for job_id in ids))

    # -- one encode ----------------------------------------------------------

    async def _queue_call(self, call: Callable[..., T], *args: object) -> T | None:
        """A queue write that may fail (full disk, read-only dir): report it, never die of it."""
        try:
            result = await asyncio.to_thread(call, *args)
        except (sqlite3.Error, OSError) as exc:
            self._report(f"the queue cannot be written: {exc}")
            return None
        self._report(None)
        return result

    def _report(self, problem: str | None) -> None:
        if problem != self._problem:
            self._problem = problem
            self.on_problem(problem)

    async def _finish(
        self, job_id: str, state: JobState, reason: str | None, log: LogTail, last: Progress | None
    ) -> None:
        """Record the outcome; while the queue cannot be written, keep trying (never lose it)."""
        while True:
            done = await self._queue_call(
                self.queue.finish, job_id, state, reason, log.tail(), last
            )
            if done is not None:
                row, _applied = done
                if row is not None:
                    self.on_change(row)
                return
            await asyncio.sleep(self.settings.poll_interval)

    def _done(self, job_id: str) -> None:
        self._tasks.pop(job_id, None)
        self._procs.pop(job_id, None)
        self._wake.set()

    async def _run(self, claimed: QueuedJob) -> None:
        job = claimed.job
        final = Path(job.output or "")
        partial = partial_path(final, job.id)
        log = self._logs[job.id] = LogTail()
        if len(self._logs) > 100:  # keep the logs of the last hundred runs of this session
            del self._logs[next(iter(self._logs))]
        parser = ProgressParser()
        try:
            state, reason = await self._encode(claimed, final, partial, parser, log)
        except Exception as exc:  # a bug here must not leave the job RUNNING forever
            state, reason = JobState.FAILED, f"console error while encoding: {exc!r}"
            proc = self._procs.get(job.id)
            if proc is not None and proc.returncode is None:
                await asyncio.to_thread(kill_group, proc.pid)
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
        log.close()
        if job.id in self._interrupting and state is not JobState.SUCCEEDED:
            state, reason = JobState.INTERRUPTED, INTERRUPTED_REASON
        await self._finish(job.id, state, reason, log, parser.last)

    async def _encode(
        self,
        claimed: QueuedJob,
        final: Path,
        partial: Path,
        parser: ProgressParser,
        log: LogTail,
    ) -> tuple[JobState, str | None]:
        job = claimed.job
        await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
        source = await asyncio.to_thread(handbrake_path, job.source, self.settings.alias_dir)
        argv = build_argv(self.settings.handbrake, source, partial, job.preset, job.title)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return JobState.FAILED, f"cannot start {argv[0]}: {exc.strerror or exc}"
        self._procs[job.id] = proc
        recorded = await asyncio.to_thread(
            self.queue.set_process, job.id, proc.pid, proc.pid, tuple(argv)
        )
        if not recorded or job.id in self._interrupting:  # cancelled or stopping meanwhile
            await asyncio.to_thread(kill_group, proc.pid)
        else:
            row = await asyncio.to_thread(self.queue.get, job.id)
            if row is not None:
                self.on_change(row)
        assert proc.stdout is not None
        last_write = 0.0
        dirty = False
        while chunk := await proc.stdout.read(65536):
            log.feed(chunk)
            dirty |= bool(parser.feed(chunk))
            now = time.monotonic()
            if dirty and now - last_write >= self.settings.progress_interval:
                last_write, dirty = now, False
                await self._publish_progress(job.id, parser.last, log)
        parser.close()
        returncode = await proc.wait()
        current = await asyncio.to_thread(self.queue.get, job.id)
        if current is None or current.job.state is not JobState.RUNNING:
            return JobState.CANCELLED, "cancelled by user"  # the finish will not apply
        if job.id in self._interrupting:
            return JobState.INTERRUPTED, INTERRUPTED_REASON
        if returncode != 0:
            return JobState.FAILED, exit_reason(returncode, parser.last, parser.failure_reason)
        problem = await asyncio.to_thread(self._verify, claimed, partial, parser)
        if problem:
            return JobState.FAILED, problem
        placed = await asyncio.to_thread(publish, partial, final)
        if placed != final:  # the name was taken since the enqueue: the job says where it went
            row = await asyncio.to_thread(self.queue.set_output, job.id, str(placed))
            if row is not None:
                self.on_change(row)
        return JobState.SUCCEEDED, None

    async def _publish_progress(self, job_id: str, progress: Progress | None, log: LogTail) -> None:
        # Progress is worth losing when the disk is full; the encode is not.
        row = await self._queue_call(self.queue.set_progress, job_id, progress, log.tail())
        if row is not None and row.job.state is JobState.RUNNING:
            self.on_change(row)

    def _verify(self, claimed: QueuedJob, partial: Path, parser: ProgressParser) -> str | None:
        """Blocking: the output must exist, be non-empty and last as long as the source."""
        return verify_output(
            self.settings.handbrake,
            partial,
            handbrake_path(claimed.job.source, self.settings.alias_dir),
            claimed.job.title,
            failure_reason=parser.failure_reason,
            known_source_s=claimed.source_duration,
            tolerance_s=self.settings.duration_tolerance_s,
            tolerance_rel=self.settings.duration_tolerance_rel,
            timeout=self.settings.scan_timeout,
        )
