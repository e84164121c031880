"""The one protocol the console talks to, whichever backend sits behind it.

Methods are async; a backend runs its blocking work (SQLite, subprocesses,
the kubernetes client) in threads so the UI's event loop never blocks.

The event stream works like a client-go informer's consumer: subscribe, and
the first event is a full ``Resync``; changes follow; after a re-list (a
reconnect, a 410 Gone) another ``Resync`` replaces everything, so what
vanished meanwhile disappears too. ``events()`` never raises: problems
arrive as ``SourceChanged`` (a source lost or regained) or ``Notice``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from ponyconsole.domain.models import Disc, EnqueueRequest, Job, JobDetail, Node


class BackendError(Exception):
    """An action was refused or failed; the message is written for the user."""


class NotAllowed(BackendError):
    """Refused by policy (read-only mode, RBAC), not by the state of the object."""


class Action(StrEnum):
    """What the user can ask a backend to change; a backend says which it allows."""

    ENQUEUE = "enqueue"
    RETRY = "retry"
    CANCEL = "cancel"
    CORDON = "cordon"
    DRAIN = "drain"
    WAKE = "wake"


ALL_ACTIONS = frozenset(Action)


@dataclass(frozen=True, slots=True)
class Permissions:
    """The actions allowed now, and in one line why the others are not."""

    allowed: frozenset[Action] = ALL_ACTIONS
    reason: str = ""

    def refusal(self, action: Action) -> str | None:
        if action in self.allowed:
            return None
        return self.reason or f"{action.value} is not available here"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source of what the console shows (the queue; nodes, jobs, pods; an agent).

    ``synced_at`` is the wall-clock time the source was last known current;
    ``error`` says why it is not, while it is not (then the data shown is
    ``now - synced_at`` old).
    """

    name: str
    synced_at: float | None = None
    error: str | None = None

    @property
    def connected(self) -> bool:
        return self.error is None

    def age(self, now: float) -> float | None:
        return None if self.synced_at is None else max(0.0, now - self.synced_at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the console shows, at one instant."""

    nodes: tuple[Node, ...]
    jobs: tuple[Job, ...]
    mode: str
    read_only: bool = False
    context: str = ""
    namespace: str = ""
    permissions: Permissions = field(default_factory=Permissions)
    sources: tuple[SourceStatus, ...] = ()

    @property
    def connected(self) -> bool:
        """Connected to what the console reads as a whole; a node agent is its own tile's."""
        return all(s.connected for s in self.sources if not s.name.startswith("agent:"))


@dataclass(frozen=True, slots=True)
class Resync:
    """Replace everything shown with this snapshot (first event; after every re-list)."""

    snapshot: Snapshot


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
class SourceChanged:
    status: SourceStatus


@dataclass(frozen=True, slots=True)
class PermissionsChanged:
    permissions: Permissions


@dataclass(frozen=True, slots=True)
class InboxChanged:
    """The rips in the inbox changed (a copy appeared, finished or left)."""

    rips: tuple[Disc, ...]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should read that belongs to no object (a backend problem)."""

    message: str
    severity: str = "information"  # Textual's notify severities


BackendEvent = (
    Resync
    | JobChanged
    | JobRemoved
    | NodeChanged
    | NodeRemoved
    | SourceChanged
    | PermissionsChanged
    | InboxChanged
    | Notice
)


@runtime_checkable
class Backend(Protocol):
    mode: str
    read_only: bool
    owns_encodes: bool  # quitting this console stops encodes (a local console that runs them)

    @property
    def inbox(self) -> str:
        """Where rips go, as the user would type it (a folder, or the cluster's share)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def snapshot(self) -> Snapshot: ...

    def events(self) -> AsyncIterator[BackendEvent]:
        """Subscribe: a ``Resync`` first, then changes; never raises; ends at ``stop()``."""
        ...

    async def list_rips(self) -> list[Disc]: ...

    async def scan(self, path: str) -> Disc: ...

    def presets(self) -> list[str]: ...

    def libraries(self) -> list[str]: ...

    async def enqueue(self, request: EnqueueRequest) -> Job: ...

    async def retry(self, job_id: str) -> Job: ...

    async def retry_failed(self) -> list[Job]: ...

    async def cancel(self, job_id: str) -> Job: ...

    async def set_cordoned(self, node: str, cordoned: bool) -> Node: ...

    async def drain_plan(self, node: str) -> list[str]:
        """What a drain of ``node`` would evict, as the confirmation lists it."""
        ...

    async def drain(self, node: str) -> DrainResult: ...

    async def wake(self, node: str) -> str:
        """Send ``node`` a Wake-on-LAN packet; what was sent, in words."""
        ...

    async def job_detail(self, job_id: str) -> JobDetail: ...

    def follow_log(self, job_id: str) -> AsyncIterator[str]:
        """The job's recent output lines, then new ones as they come; ends with the job."""
        ...


@dataclass(frozen=True, slots=True)
class DrainResult:
    node: str
    evicted: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (pod, the API's reason)
