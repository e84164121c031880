"""The event stream every backend publishes through: Resync first, merged per object, no loss."""

from __future__ import annotations

import asyncio

from ponyconsole.backends.event_hub import EventHub
from ponyconsole.backends.local.backend import _new_lines_from
from ponyconsole.backends.protocol import (
    JobChanged,
    JobRemoved,
    NodeChanged,
    Notice,
    Resync,
    Snapshot,
    SourceChanged,
    SourceStatus,
)
from ponyconsole.domain.models import Job, JobState, Node


def job(job_id: str, state: JobState = JobState.QUEUED, retries: int = 0) -> Job:
    return Job(job_id, f"/in/{job_id}.mkv", "movies", "Fast 1080p30", state, retries=retries)


def hub_with(jobs: list[Job]) -> EventHub:
    return EventHub(lambda: Snapshot(nodes=(), jobs=tuple(jobs), mode="test"))


async def test_a_subscription_begins_with_a_resync_of_what_is_there_now() -> None:
    hub = hub_with([job("a")])
    events = hub.subscribe()
    first = await asyncio.wait_for(anext(events), 1)
    assert isinstance(first, Resync)
    assert [j.id for j in first.snapshot.jobs] == ["a"]


async def test_a_burst_to_one_job_arrives_as_its_last_state_only() -> None:
    hub = hub_with([])
    events = hub.subscribe()
    await anext(events)  # the resync
    for retries in range(1000):
        hub.publish(JobChanged(job("a", retries=retries)))
    hub.publish(NodeChanged(Node("rarity")))
    assert events.backlog == 2
    got = events.drain()
    assert got[0] == JobChanged(job("a", retries=999))
    assert got[1] == NodeChanged(Node("rarity"))


async def test_removal_supersedes_a_change_and_order_follows_the_last_change() -> None:
    hub = hub_with([])
    events = hub.subscribe()
    await anext(events)
    hub.publish(JobChanged(job("a")))
    hub.publish(JobChanged(job("b")))
    hub.publish(JobRemoved("a"))
    assert events.drain() == [JobChanged(job("b")), JobRemoved("a")]


async def test_a_resync_drops_what_was_pending_but_later_events_follow_it() -> None:
    state = [job("a")]
    hub = EventHub(lambda: Snapshot(nodes=(), jobs=tuple(state), mode="test"))
    events = hub.subscribe()
    await anext(events)
    hub.publish(JobChanged(job("x")))
    state[:] = [job("b")]
    hub.resync()
    hub.publish(SourceChanged(SourceStatus("jobs", synced_at=1.0)))
    got = events.drain()
    assert isinstance(got[0], Resync) and [j.id for j in got[0].snapshot.jobs] == ["b"]
    assert got[1:] == [SourceChanged(SourceStatus("jobs", synced_at=1.0))]


async def test_notices_are_never_merged() -> None:
    hub = hub_with([])
    events = hub.subscribe()
    await anext(events)
    hub.publish(Notice("one"))
    hub.publish(Notice("one"))
    assert events.drain() == [Notice("one"), Notice("one")]


async def test_close_ends_the_stream_after_what_was_pending() -> None:
    hub = hub_with([])
    events = hub.subscribe()
    hub.publish(JobChanged(job("a")))
    hub.close()
    got = [event async for event in events]
    assert isinstance(got[0], Resync) and got[1] == JobChanged(job("a"))


async def test_a_waiting_subscriber_wakes_on_publish() -> None:
    hub = hub_with([])
    events = hub.subscribe()
    await anext(events)
    waiter = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    hub.publish(JobRemoved("z"))
    assert await asyncio.wait_for(waiter, 1) == JobRemoved("z")


def test_a_sliding_log_tail_yields_only_the_new_lines() -> None:
    assert _new_lines_from((), ("a", "b")) == 0
    assert _new_lines_from(("a", "b"), ("a", "b")) == 2
    assert _new_lines_from(("a", "b", "c"), ("b", "c", "d", "e")) == 2
    assert _new_lines_from(("a", "b"), ("x", "y")) == 0
