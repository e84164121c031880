"""Fan-out of backend events to subscribers, coalescing per object, bounded, never lossy.

A subscriber that falls behind (a busy UI, a slow script) does not make the
backend wait or grow a queue without bound: pending events are kept as the
latest one per object (a job id, a node name, a source name), so a burst of
1,000 progress updates to one job costs one slot, and the subscriber always
ends up with the final state. A ``Resync`` drops everything pending before
it. This is the "merge bursts" of STYLE.md, done once for every backend.

``publish`` may be called from the event loop only; threads hand events over
with ``loop.call_soon_threadsafe(hub.publish, event)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ponyconsole.backends.protocol import (
    BackendEvent,
    InboxChanged,
    JobChanged,
    JobRemoved,
    NodeChanged,
    NodeRemoved,
    Notice,
    PermissionsChanged,
    Resync,
    SourceChanged,
)

_notice_seq = 0


def event_key(event: BackendEvent) -> tuple[str, Any]:
    """The object an event is about: a later event with the same key supersedes it."""
    match event:
        case JobChanged(job=job):
            return ("job", job.id)
        case JobRemoved(job_id=job_id):
            return ("job", job_id)
        case NodeChanged(node=node):
            return ("node", node.name)
        case NodeRemoved(name=name):
            return ("node", name)
        case SourceChanged(status=status):
            return ("source", status.name)
        case PermissionsChanged():
            return ("permissions", None)
        case InboxChanged():
            return ("inbox", None)
        case Notice():
            global _notice_seq
            _notice_seq += 1
            return ("notice", _notice_seq)  # never merged: each one is read
        case Resync():
            return ("resync", None)
    raise TypeError(f"not a backend event: {event!r}")


class Subscription:
    """One subscriber's view: an async iterator that begins with a ``Resync``."""

    def __init__(self, hub: EventHub, first: Resync) -> None:
        self._hub = hub
        self._pending: dict[tuple[str, Any], BackendEvent] = {("resync", None): first}
        self._ready = asyncio.Event()
        self._ready.set()
        self._closed = False

    def put(self, event: BackendEvent) -> None:
        if isinstance(event, Resync):
            self._pending.clear()
        key = event_key(event)
        self._pending.pop(key, None)  # re-insert: order of last change, not first
        self._pending[key] = event
        self._ready.set()

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BackendEvent:
        while not self._pending:
            if self._closed:
                self._hub.unsubscribe(self)
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        key = next(iter(self._pending))
        return self._pending.pop(key)

    def drain(self) -> list[BackendEvent]:
        """Everything pending now, in order, without waiting (for batch appliers)."""
        events = list(self._pending.values())
        self._pending.clear()
        return events

    async def aclose(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    """The subscribers of one backend; ``snapshot`` makes each one's first ``Resync``."""

    def __init__(self, snapshot: Callable[[], Any]) -> None:
        self._snapshot = snapshot
        self._subscribers: list[Subscription] = []

    def subscribe(self) -> Subscription:
        subscription = Subscription(self, Resync(self._snapshot()))
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def publish(self, event: BackendEvent) -> None:
        for subscription in self._subscribers:
            subscription.put(event)

    def resync(self) -> None:
        """Everything changed (a re-list): every subscriber gets a fresh snapshot."""
        self.publish(Resync(self._snapshot()))

    def close(self) -> None:
        for subscription in list(self._subscribers):
            subscription.close()
