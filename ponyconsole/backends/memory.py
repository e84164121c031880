"""A backend that holds a fixed scene in memory: used for screenshots and snapshot tests.

It implements the whole protocol (actions change its state and emit events),
so the UI cannot tell it from a live backend; it just never runs HandBrake.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from ponyconsole.backends.event_hub import EventHub
from ponyconsole.backends.protocol import (
    ALL_ACTIONS,
    Action,
    BackendError,
    BackendEvent,
    DrainResult,
    JobChanged,
    NodeChanged,
    NotAllowed,
    Permissions,
    Snapshot,
    SourceStatus,
)
from ponyconsole.domain.models import (
    Disc,
    EnqueueRequest,
    Job,
    JobDetail,
    JobState,
    Node,
)
from ponyconsole.domain.naming import NameRefused, check_library


class MemoryBackend:
    def __init__(
        self,
        nodes: list[Node],
        jobs: list[Job],
        rips: list[Disc] | None = None,
        mode: str = "local",
        read_only: bool = False,
        logs: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.mode = mode
        self.inbox = "/srv/inbox"
        self.read_only = read_only
        self.owns_encodes = mode == "local"
        self._nodes = {n.name: n for n in nodes}
        self._jobs = {j.id: j for j in jobs}
        self._rips = {r.path: r for r in rips or []}
        self._logs = logs or {}
        self._hub = EventHub(self.snapshot)
        self.woken: list[str] = []
        self.context = "ponies" if mode == "cluster" else ""
        self.namespace = "ponyconsole" if mode == "cluster" else ""
        self.sources = (
            tuple(SourceStatus(name, synced_at=0.0) for name in ("nodes", "jobs", "pods"))
            if mode == "cluster"
            else (SourceStatus("queue", synced_at=0.0),)
        )
        allowed = ALL_ACTIONS if mode == "cluster" else ALL_ACTIONS - {Action.DRAIN, Action.WAKE}
        self.permissions = (
            Permissions(frozenset(), "read-only mode: nothing is changed")
            if read_only
            else Permissions(frozenset(allowed), "local mode has one pony")
        )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def snapshot(self) -> Snapshot:
        return Snapshot(
            tuple(self._nodes.values()),
            tuple(self._jobs.values()),
            self.mode,
            read_only=self.read_only,
            context=self.context,
            namespace=self.namespace,
            permissions=self.permissions,
            sources=self.sources,
        )

    def events(self) -> AsyncIterator[BackendEvent]:
        return self._hub.subscribe()

    def _emit(self, event: BackendEvent) -> None:
        self._hub.publish(event)

    def _put(self, job: Job) -> Job:
        self._jobs[job.id] = job
        self._emit(JobChanged(job))
        return job

    def _writable(self, action: Action = Action.ENQUEUE) -> None:
        refusal = self.permissions.refusal(action)
        if refusal:
            raise NotAllowed(refusal)

    async def list_rips(self) -> list[Disc]:
        return list(self._rips.values())

    async def scan(self, path: str) -> Disc:
        try:
            return self._rips[path]
        except KeyError:
            raise BackendError(f"no such rip: {path}") from None

    def presets(self) -> list[str]:
        return ["Fast 1080p30", "HQ 1080p30 Surround", "Very Fast 480p30"]

    def libraries(self) -> list[str]:
        return sorted({r.library for r in self._rips.values()} | {"movies"})

    async def enqueue(self, request: EnqueueRequest) -> Job:
        self._writable()
        try:
            check_library(request.library)
        except NameRefused as exc:
            raise BackendError(str(exc)) from None
        job_id = f"{request.library}:{request.path}:{request.title}"
        if job_id in self._jobs:
            return self._jobs[job_id]
        job = Job(job_id, request.path, request.library, request.preset, JobState.QUEUED)
        return self._put(dataclasses.replace(job, title=request.title))

    async def retry(self, job_id: str) -> Job:
        self._writable(Action.RETRY)
        job = self._job(job_id)
        if not job.state.retryable:
            raise BackendError(
                f"{job.name} is {job.state.value}; only failed or cancelled jobs retry"
            )
        return self._put(
            dataclasses.replace(job, state=JobState.QUEUED, retries=job.retries + 1, progress=None)
        )

    async def retry_failed(self) -> list[Job]:
        failed = [j for j in self._jobs.values() if j.state is JobState.FAILED]
        if not failed:
            raise BackendError("no failed jobs")
        return [await self.retry(j.id) for j in failed]

    async def cancel(self, job_id: str) -> Job:
        self._writable(Action.CANCEL)
        job = self._job(job_id)
        if not job.state.cancellable:
            raise BackendError(f"{job.name} is {job.state.value}; nothing to cancel")
        return self._put(dataclasses.replace(job, state=JobState.CANCELLED, reason="cancelled"))

    async def set_cordoned(self, node: str, cordoned: bool) -> Node:
        self._writable(Action.CORDON)
        if node not in self._nodes:
            raise BackendError(f"no such pony: {node}")
        updated = dataclasses.replace(self._nodes[node], cordoned=cordoned)
        self._nodes[node] = updated
        self._emit(NodeChanged(updated))
        return updated

    async def wake(self, node: str) -> str:
        """Records the wake (scenes and UI tests); what a real backend would have sent."""
        self._writable(Action.WAKE)
        if node not in self._nodes:
            raise BackendError(f"no such pony: {node}")
        mac = self._nodes[node].mac
        if not mac:
            raise BackendError(f"{node} has no MAC address (annotation ponyconsole/mac)")
        self.woken.append(node)
        return f"magic packet for {mac} sent to 255.255.255.255:9 (102 bytes)"

    async def job_detail(self, job_id: str) -> JobDetail:
        return JobDetail(self._job(job_id), self._logs.get(job_id, ()))

    async def follow_log(self, job_id: str) -> AsyncIterator[str]:
        for line in self._logs.get(self._job(job_id).id, ()):
            yield line

    async def drain_plan(self, node: str) -> list[str]:
        self._writable(Action.DRAIN)
        if node not in self._nodes:
            raise BackendError(f"no such pony: {node}")
        return [j.kube_name or j.name for j in self._jobs.values() if j.node == node]

    async def drain(self, node: str) -> DrainResult:
        plan = await self.drain_plan(node)
        await self.set_cordoned(node, True)
        return DrainResult(node, evicted=tuple(plan))

    def _job(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise BackendError(f"no such job: {job_id}") from None
