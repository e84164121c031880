"""LocalBackend: the Backend protocol for one machine that is its own (only) pony.

All blocking work (SQLite, stat, HandBrake scans, psutil) runs in threads;
``snapshot()`` only reads an in-memory view that every change updates.

Stopping: ``stop()`` kills a running HandBrake (its whole process group) and
marks the job INTERRUPTED, which is runnable, so the next ``start()`` encodes
it again from the beginning. A console that dies without ``stop()`` (kill -9,
power cut) gets the same treatment from the recovery in ``start()``.

One queue, one runner: ``start()`` takes the owner lock (owner_lock.py) when it
is free and runs the Runner; otherwise it *attaches*: no runner, it follows the
owner's writes (progress, outcomes) and its actions are plain queue writes the
owner picks up (a cancelled running row makes the owner kill its HandBrake).
An attached backend takes the lock over when the owner goes away.
``start_client()`` only opens the queue: what the one-shot CLI commands need.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ponyconsole.backends.event_hub import EventHub
from ponyconsole.backends.inbox_watch import InboxWatch
from ponyconsole.backends.local.inbox import Inbox
from ponyconsole.backends.local.output_paths import output_name, partial_path
from ponyconsole.backends.local.outputs import free_output, library_names
from ponyconsole.backends.local.owner_lock import Holder, OwnerLock
from ponyconsole.backends.local.processes import is_handbrake, kill_group, process_alive
from ponyconsole.backends.local.queue import JobQueue, QueuedJob, job_id_for
from ponyconsole.backends.local.scanner import ScanCache, list_presets
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.backends.protocol import (
    Action,
    BackendError,
    BackendEvent,
    DrainResult,
    JobChanged,
    NodeChanged,
    NotAllowed,
    Notice,
    Permissions,
    Snapshot,
    SourceChanged,
    SourceStatus,
)
from ponyconsole.domain.models import (
    Disc,
    EnqueueRequest,
    Job,
    JobDetail,
    JobState,
    Node,
    RipKind,
)
from ponyconsole.domain.naming import NameRefused, check_library

if TYPE_CHECKING:  # imported when a queue is run: `ponyconsole jobs` never pays for them
    from ponyconsole.agent.metrics import MetricsSampler
    from ponyconsole.backends.local.runner import Runner

T = TypeVar("T")

_CORDONED_KEY = "cordoned"
QUEUE_SOURCE = "queue"
LOCAL_PERMISSIONS = Permissions(
    frozenset({Action.ENQUEUE, Action.RETRY, Action.CANCEL, Action.CORDON}),
    "local mode has one pony: drain and wake are cluster actions",
)
LOG_FOLLOW_INTERVAL = 0.5  # seconds between looks at a running job's output
THIS_CONSOLE = "this console"
# Following another writer: PRAGMA data_version costs microseconds, so look often; an
# attached console then shows the owner's once-a-second progress without lag.
FOLLOW_INTERVAL = 0.5
# Above this many changed rows one full reload is cheaper than a long IN (...) list.
_RELOAD_ALL_ABOVE = 500


class LocalBackend:
    mode = "local"
    read_only = False

    def __init__(
        self, settings: LocalSettings | None = None, role: str = "console", attach: bool = True
    ) -> None:
        """`role` names us to the others ("serve (pid 1234)"); without `attach`, `start()`
        refuses (BackendError) when another process already runs the queue."""
        self.settings = settings or LocalSettings.load()
        self.role = role
        self._attach = attach
        self._lock = OwnerLock(self.settings.data_dir, role)
        self._owner: Holder | None = None  # who runs the queue when we do not
        self._fingerprints: dict[str, tuple[str, int]] = {}
        self._kills: set[asyncio.Task[bool]] = set()
        self.recovered: list[Job] = []  # jobs a dead runner left running, now interrupted
        self._jobs: dict[str, Job] = {}
        self._hub = EventHub(self.snapshot)
        self._source = SourceStatus(QUEUE_SOURCE)
        self._node = Node(name=self.settings.pony_name, is_master=True)
        self._tasks: list[asyncio.Task[None]] = []
        self._presets: list[str] = [self.settings.default_preset]
        self._libraries: list[str] = ["movies"]
        self._queue: JobQueue | None = None
        self._runner: Runner | None = None
        self._scans = ScanCache(self.settings.handbrake, self.settings.scan_timeout)
        self._inbox = Inbox(
            self.settings.inbox_dir,
            self._scans,
            self.settings.settle_seconds,
            alias_dir=self.settings.alias_dir,
        )
        self._sampler: MetricsSampler | None = None
        self._energy_at_start: dict[str, float] = {}  # job -> the sampler's joules then
        self._naming = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Open the queue; run it when nobody else does, else attach to whoever does."""
        settings = self.settings
        queue = await self._open_queue()
        try:
            owns = await asyncio.to_thread(self._lock.try_acquire)
        except OSError as exc:
            await asyncio.to_thread(queue.close)
            self._queue = None
            raise BackendError(f"cannot lock the queue at {self._lock.path}: {exc}") from exc
        if not owns:
            self._owner = await asyncio.to_thread(self._lock.holder)
            if not self._attach:
                await asyncio.to_thread(queue.close)
                self._queue = None
                owner = self._owner
                if owner is None or owner.role == "serve":
                    who = owner.pid if owner else "another process"
                    raise BackendError(f"the queue is already served by pid {who}")
                raise BackendError(
                    f"the queue is already served by pid {owner.pid}, a {owner.role}: quit it first"
                )
        if owns:
            await self._recover()
        await self._load_rows()
        from ponyconsole.agent.metrics import MetricsSampler

        self._sampler = await asyncio.to_thread(
            MetricsSampler, settings.idle_watts, settings.max_watts
        )
        presets = await asyncio.to_thread(list_presets, settings.handbrake)
        self._presets = presets or self._presets
        self._libraries = await asyncio.to_thread(library_names, self._inbox, settings.output_dir)
        await asyncio.to_thread(self._inbox.observe)  # start the settle clocks (inbox.py)
        metrics = await asyncio.to_thread(self._sampler.sample)
        self._node = replace(self._node, metrics=metrics)
        self._source = SourceStatus(QUEUE_SOURCE, synced_at=time.time())
        self._hub.resync()
        watch = InboxWatch(lambda: self._inbox.root, self._changed_rips, self._hub.publish)
        self._tasks = [
            asyncio.create_task(self._sample_forever(), name="local-metrics"),
            asyncio.create_task(self._follow_other_writers(), name="local-db-follow"),
            asyncio.create_task(watch.run(), name="local-inbox-watch"),
        ]
        if owns:
            self._start_runner()
        else:
            self._tasks.append(asyncio.create_task(self._take_over(), name="local-take-over"))

    async def start_client(self) -> None:
        """Open the queue only: no runner, metrics, preset list, lock or recovery.

        What a one-shot command (`ponyconsole jobs`, `enqueue`, ...) needs; whoever
        runs the queue picks its writes up.
        """
        await self._open_queue()
        self._owner = await asyncio.to_thread(self._lock.holder)
        await self._load_rows()

    async def _open_queue(self) -> JobQueue:
        settings = self.settings
        try:
            await asyncio.to_thread(settings.ensure_dirs)
            self._queue = queue = await asyncio.to_thread(JobQueue, settings.db_path)
        except (OSError, sqlite3.Error) as exc:
            raise BackendError(f"cannot open the queue at {settings.db_path}: {exc}") from exc
        return queue

    async def _recover(self) -> None:
        """We own the queue now: jobs a dead owner was running become INTERRUPTED."""
        try:
            recovered = await asyncio.to_thread(self._q.recover)
        except sqlite3.Error as exc:
            raise BackendError(f"cannot open the queue at {self.settings.db_path}: {exc}") from exc
        self.recovered = [row.job for row in recovered]
        for row in recovered:  # the dead console's half-written output
            if row.job.output:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(partial_path(Path(row.job.output), row.job.id).unlink)

    async def _load_rows(self) -> None:
        queue = self._q
        rows = await asyncio.to_thread(queue.all)
        self._jobs = {row.job.id: row.job for row in rows}
        self._fingerprints = {r.job.id: (r.job.state.value, r.job.retries) for r in rows}
        cordoned = await asyncio.to_thread(queue.get_setting, _CORDONED_KEY, "0") == "1"
        self._node = replace(self._node, cordoned=cordoned)

    def _start_runner(self) -> None:
        self._owner = None
        from ponyconsole.backends.local.runner import Runner

        self._runner = Runner(self.settings, self._q, self._on_row, self._on_problem)
        self._runner.cordoned = self._node.cordoned
        self._tasks.append(asyncio.create_task(self._runner.run_forever(), name="local-runner"))

    async def _take_over(self) -> None:
        """Attached: when the owner goes away (serve stopped, console quit), run the queue."""
        while True:
            await asyncio.sleep(max(1.0, self.settings.poll_interval))
            taken = False
            with contextlib.suppress(OSError):
                taken = await asyncio.to_thread(self._lock.try_acquire)
            if taken:
                try:
                    await self._recover()
                    rows = await self._db(self._q.all)
                except BackendError as error:  # e.g. a full disk: stay attached, try again
                    await asyncio.to_thread(self._lock.release)
                    self._on_problem(str(error))
                    continue
                for row in rows:
                    self._on_row(row)
                self._start_runner()
                self._publish(NodeChanged(self._node))
                return
            self._owner = await asyncio.to_thread(self._lock.holder)

    @property
    def runner_owner(self) -> str:
        """Who encodes this queue, for the status bar: "this console", "serve (pid 1234)"."""
        if self._lock.held:
            return THIS_CONSOLE if self.role == "console" else f"this {self.role}"
        if self._owner is not None:
            return str(self._owner)
        return "nobody" if self._queue is not None else ""

    @property
    def runs_queue(self) -> bool:
        return self._runner is not None

    @property
    def owns_encodes(self) -> bool:
        """Quitting this console stops encodes: it runs the queue (no serve behind it)."""
        return self._runner is not None

    async def handbrake_pid(self, job_id: str) -> int | None:
        """The pid of the HandBrake running this job (whoever runs it), if any."""
        row = await self._db(self._q.get, job_id)
        return row.pid if row is not None else None

    async def stop(self) -> None:
        """Kill running encodes (jobs become INTERRUPTED, re-run on next start), close the queue."""
        if self._runner is not None:
            await self._runner.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._queue is not None:
            await asyncio.to_thread(self._queue.close)
            self._queue = None
        await asyncio.to_thread(self._lock.release)
        self._hub.close()

    # -- views -----------------------------------------------------------------

    @property
    def inbox(self) -> str:
        return str(self.settings.inbox_dir)

    def snapshot(self) -> Snapshot:
        jobs = tuple(sorted(self._jobs.values(), key=lambda j: j.created_at))
        return Snapshot(
            nodes=(self._node,),
            jobs=jobs,
            mode=self.mode,
            read_only=False,
            namespace=str(self.settings.data_dir),
            permissions=LOCAL_PERMISSIONS,
            sources=(self._source,),
        )

    def events(self) -> AsyncIterator[BackendEvent]:
        return self._hub.subscribe()

    def presets(self) -> list[str]:
        """HandBrake's presets, the configured default first (the enqueue dialog's choice)."""
        default = self.settings.default_preset
        return [default, *(p for p in self._presets if p != default)]

    def libraries(self) -> list[str]:
        return list(self._libraries)

    async def list_rips(self) -> list[Disc]:
        return await asyncio.to_thread(self._list_rips_now)

    def _changed_rips(self) -> list[Disc]:
        """For InboxChanged: no HandBrake scans (the dialog scans the rip the user picks)."""
        return self._list_rips_now(scan=False)

    def _list_rips_now(self, scan: bool = True) -> list[Disc]:
        """The rips, and the library names with them (blocking: from a thread)."""
        rips = self._inbox.list_rips(scan)
        self._libraries = library_names(self._inbox, self.settings.output_dir)
        return rips

    async def scan(self, path: str) -> Disc:
        info = await asyncio.to_thread(self._inbox.describe, Path(path))
        return info.disc

    async def job_detail(self, job_id: str) -> JobDetail:
        row = await self._db(self._q.get, job_id)
        if row is None:
            raise BackendError(f"no job {job_id}")
        live = self._runner.log_tail(job_id) if self._runner else None
        return JobDetail(job=row.job, log_tail=live if live is not None else row.log_tail)

    async def follow_log(self, job_id: str) -> AsyncIterator[str]:
        """The job's stored lines, then new ones while it runs (here or in another process)."""
        shown: tuple[str, ...] = ()
        while True:
            detail = await self.job_detail(job_id)
            lines = detail.log_tail
            start = _new_lines_from(shown, lines)
            for line in lines[start:]:
                yield line
            shown = lines
            if detail.job.state is not JobState.RUNNING:
                return
            await asyncio.sleep(LOG_FOLLOW_INTERVAL)

    # -- actions ---------------------------------------------------------------

    async def enqueue(self, request: EnqueueRequest) -> Job:
        """Queue one rip; refused (BackendError) for a bad library (``""``: the rip's inbox
        folder), a rip still being copied, one outside the inbox. The output never replaces a
        library file: a name already used on disk or by another job gets `` (2)``, `` (3)``...
        (domain/naming.py)."""
        try:  # "" means the folder the rip sits in (the inbox's library); checked as well
            if request.library:
                check_library(request.library)
            info = await asyncio.to_thread(
                self._inbox.check_enqueueable, request.path, request.library or None
            )
            library = check_library(info.disc.library)
        except NameRefused as exc:
            raise BackendError(str(exc)) from None
        disc = info.disc
        title = request.title
        if title is None and disc.kind is not RipKind.FILE and disc.main_title is not None:
            title = disc.main_title.index
        chosen = [t for t in disc.titles if t.index == title] if title else []
        chosen_title = chosen[0] if chosen else disc.main_title
        stem = Path(disc.path).stem if disc.kind in (RipKind.FILE, RipKind.ISO) else disc.name
        if disc.name.upper() == "VIDEO_TS":
            stem = Path(disc.path).parent.name
        if request.title is not None and len(disc.titles) > 1:
            stem = f"{stem} - title {request.title}"
        job_id = job_id_for(library, info.resolved, disc.size, title)
        async with self._naming:  # two enqueues of this console never pick the same name
            existing = await self._db(self._q.get, job_id)
            if existing is not None:
                return existing.job
            folder = self.settings.output_dir / library
            outputs = await self._db(self._q.outputs)
            output = await asyncio.to_thread(
                free_output, folder, output_name(stem, job_id), outputs.values()
            )
            row, _created = await self._db(
                self._q.enqueue,
                job_id=job_id,
                source=disc.path,
                library=library,
                preset=request.preset or self.settings.default_preset,
                title=title,
                output=str(output),
                source_size=disc.size,
                source_duration=chosen_title.duration_seconds if chosen_title else None,
            )
        self._on_row(row)
        self._wake()
        return row.job

    async def retry(self, job_id: str) -> Job:
        try:
            row = await self._db(self._q.retry, job_id)
        except KeyError:
            raise BackendError(f"no job {job_id}") from None
        except ValueError as exc:
            raise BackendError(self._refusal(job_id, str(exc), "retry")) from None
        self._on_row(row)
        self._wake()
        return row.job

    async def retry_failed(self) -> list[Job]:
        rows = await self._db(self._q.retry_failed)
        if not rows:
            raise BackendError("no failed jobs")
        for row in rows:
            self._on_row(row)
        self._wake()
        return [row.job for row in rows]

    async def cancel(self, job_id: str) -> Job:
        try:
            before = await self._db(self._q.cancel, job_id)
        except KeyError:
            raise BackendError(f"no job {job_id}") from None
        except ValueError as exc:
            raise BackendError(self._refusal(job_id, str(exc), "cancel")) from None
        ours = self._runner is not None and await self._runner.kill(job_id)
        if (
            not ours
            and before.pgid
            and not await asyncio.to_thread(process_alive, before.owner_pid, before.owner_started)
            and await asyncio.to_thread(is_handbrake, before.pid)
        ):
            # An orphan of a dead owner. A live owner (serve, another console) follows the
            # queue, sees the row cancelled and stops its own HandBrake within a second.
            await asyncio.to_thread(kill_group, before.pgid)
        row = await self._db(self._q.get, job_id)
        assert row is not None
        self._on_row(row)
        return row.job

    async def drain_plan(self, node: str) -> list[str]:
        raise NotAllowed(LOCAL_PERMISSIONS.reason)

    async def drain(self, node: str) -> DrainResult:
        raise NotAllowed(LOCAL_PERMISSIONS.reason)

    async def wake(self, node: str) -> str:
        raise NotAllowed(LOCAL_PERMISSIONS.reason)

    async def set_cordoned(self, node: str, cordoned: bool) -> Node:
        if node != self.settings.pony_name:
            raise BackendError(
                f"no pony named {node}; this local console runs only {self.settings.pony_name}"
            )
        await self._db(self._q.set_setting, _CORDONED_KEY, "1" if cordoned else "0")
        if self._runner is not None:
            self._runner.cordoned = cordoned
            self._runner.wake()
        self._node = replace(self._node, cordoned=cordoned)
        self._publish(NodeChanged(self._node))
        return self._node

    # -- internals -------------------------------------------------------------

    async def _db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one queue call in a thread; a queue that cannot be written is refused clearly.

        A full disk or a read-only data dir reaches the user as "the queue ... cannot be
        written: database or disk is full", and nothing already in the queue is lost.
        """
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except sqlite3.Error as exc:
            raise BackendError(
                f"the queue ({self.settings.db_path}) cannot be written: {exc}"
            ) from exc

    @property
    def _q(self) -> JobQueue:
        if self._queue is None:
            raise BackendError("the local backend is not started")
        return self._queue

    def _wake(self) -> None:
        if self._runner is not None:
            self._runner.wake()

    def _refusal(self, job_id: str, state: str, action: str) -> str:
        """Names the job as the user sees it (its rip), not by its hash."""
        job = self._jobs.get(job_id)
        short = job.name if job is not None else f"job {job_id[:8]}"
        if state == JobState.RUNNING.value and action == "retry":
            return f"{short} is running; cancel it first"
        if state in (JobState.QUEUED.value, JobState.INTERRUPTED.value) and action == "retry":
            return f"{short} is already waiting to run"
        if action == "cancel":
            return f"{short} is already {state}; nothing to cancel"
        return f"{short} is {state}; only failed or cancelled jobs can be retried"

    def _publish(self, event: BackendEvent) -> None:
        self._hub.publish(event)

    def _on_problem(self, problem: str | None) -> None:
        """The runner could not write the queue (or can again): the console shows it."""
        synced = self._source.synced_at if problem else time.time()
        self._source = SourceStatus(QUEUE_SOURCE, synced_at=synced, error=problem)
        self._publish(SourceChanged(self._source))

    def _on_row(self, row: QueuedJob) -> None:
        self._meter_energy(row.job)
        if self._jobs.get(row.job.id) != row.job:
            self._jobs[row.job.id] = row.job
            self._publish(JobChanged(row.job))

    def _meter_energy(self, job: Job) -> None:
        """Wh per job: this machine's cumulative joules when its encode starts and ends."""
        sampler = self._sampler
        if sampler is None:
            return
        if job.state is JobState.RUNNING:
            self._energy_at_start.setdefault(job.id, sampler.energy_joules)
        elif job.id in self._energy_at_start:
            start = self._energy_at_start.pop(job.id)
            if job.state is JobState.INTERRUPTED:
                return  # it runs again from the beginning: counted then
            wh = max(0.0, sampler.energy_joules - start) / 3600.0
            self._tasks.append(asyncio.create_task(self._store_energy(job.id, wh)))

    async def _store_energy(self, job_id: str, wh: float) -> None:
        try:
            row = await asyncio.to_thread(self._q.set_energy, job_id, wh)
        except (sqlite3.Error, OSError) as error:  # shown, and the figure is still shown
            self._publish(Notice(f"energy of {job_id} not stored: {error}", "warning"))
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = replace(job, energy_wh=wh)
                self._publish(JobChanged(self._jobs[job_id]))
            return
        if row is not None:
            self._on_row(row)

    async def _sample_forever(self) -> None:
        assert self._sampler is not None
        while True:
            await asyncio.sleep(self.settings.metrics_interval)
            metrics = await asyncio.to_thread(self._sampler.sample)
            self._node = replace(self._node, metrics=metrics)
            self._publish(NodeChanged(self._node))

    async def _follow_other_writers(self) -> None:
        """Another process on the same queue commits: reload and publish what changed.

        ``PRAGMA data_version`` moves only on other connections' commits, so this
        costs one tiny query per interval when nobody else writes. On a change only
        the running rows and those whose state or retries moved are read again.
        """
        queue = self._q
        version = await asyncio.to_thread(queue.data_version)
        interval = min(self.settings.poll_interval, FOLLOW_INTERVAL)
        while True:
            await asyncio.sleep(interval)
            current = await asyncio.to_thread(queue.data_version)
            if current == version:
                continue
            version = current
            await self._reload_changed(queue)

    async def _reload_changed(self, queue: JobQueue) -> None:
        prints = await asyncio.to_thread(queue.fingerprints)
        changed = [i for i, fp in prints.items() if self._fingerprints.get(i) != fp]
        self._fingerprints = prints
        if len(changed) > _RELOAD_ALL_ABOVE:
            rows = await asyncio.to_thread(queue.all)
        else:
            rows = await asyncio.to_thread(queue.some, changed)
        for row in rows:
            self._on_row(row)
        cordoned = await asyncio.to_thread(queue.get_setting, _CORDONED_KEY, "0") == "1"
        if cordoned != self._node.cordoned:
            self._node = replace(self._node, cordoned=cordoned)
            if self._runner is not None:
                self._runner.cordoned = cordoned
            self._publish(NodeChanged(self._node))
        if self._runner is not None:
            for job_id in self._runner.running_ids():
                job = self._jobs.get(job_id)
                if job is not None and job.state is not JobState.RUNNING:
                    # Cancelled by another process: stop our HandBrake (the encode task
                    # sees the row cancelled and removes its partial output).
                    kill = asyncio.create_task(self._runner.kill(job_id), name=f"kill-{job_id}")
                    self._kills.add(kill)
                    kill.add_done_callback(self._kills.discard)
        self._wake()


def _new_lines_from(shown: tuple[str, ...], lines: tuple[str, ...]) -> int:
    """Where ``lines`` (a sliding tail) goes past what was already ``shown``.

    The tail keeps the last N lines, so the old one's end overlaps the new
    one's start; the longest such overlap tells what is new. No overlap: all.
    """
    if not shown:
        return 0
    for overlap in range(min(len(shown), len(lines)), 0, -1):
        if shown[-overlap:] == lines[:overlap]:
            return overlap
    return 0
