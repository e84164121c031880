"""The one protocol the console talks to, whichever backend sits behind it.

Methods are async; a backend runs its blocking work (SQLite, subprocesses,
the kubernetes client) in threads so the UI's event loop never blocks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ponyconsole.domain.models import Disc, EnqueueRequest, Job, JobDetail, Node


class BackendError(Exception):
    """An action was refused or failed; the message is written for the user."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the console shows, at one instant."""

    nodes: tuple[Node, ...]
    jobs: tuple[Job, ...]
    mode: str
    read_only: bool = False
    connected: bool = True


@dataclass(frozen=True, slots=True)
class JobChanged:
    job: Job


@dataclass(frozen=True, slots=True)
class JobRemoved:
    job_id: str


@dataclass(frozen=True, slots=True)
class NodeChanged:
    node: Node


@dataclass(frozen=True, slots=True)
class NodeRemoved:
    name: str


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    connected: bool
    message: str = ""


BackendEvent = JobChanged | JobRemoved | NodeChanged | NodeRemoved | ConnectionChanged


@runtime_checkable
class Backend(Protocol):
    mode: str
    read_only: bool

    @property
    def inbox(self) -> str:
        """Where rips go, as the user would type it (a folder, or the cluster's share)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def snapshot(self) -> Snapshot: ...

    def events(self) -> AsyncIterator[BackendEvent]: ...

    async def list_rips(self) -> list[Disc]: ...

    async def scan(self, path: str) -> Disc: ...

    def presets(self) -> list[str]: ...

    def libraries(self) -> list[str]: ...

    async def enqueue(self, request: EnqueueRequest) -> Job: ...

    async def retry(self, job_id: str) -> Job: ...

    async def retry_failed(self) -> list[Job]: ...

    async def cancel(self, job_id: str) -> Job: ...

    async def set_cordoned(self, node: str, cordoned: bool) -> Node: ...

    async def job_detail(self, job_id: str) -> JobDetail: ...
