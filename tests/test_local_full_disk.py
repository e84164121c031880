"""A full disk loses nothing: a clear refusal or a clear failure, and work resumes after.

The full disk is real: a 300 KiB tmpfs (CI runs as root, so it can mount one),
filled up as a big copy would fill it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.protocol import BackendError, SourceChanged, SourceStatus
from ponyconsole.domain.models import EnqueueRequest, JobState
from tests.local_support import TEST_PRESET, long_clip_in, place, settings_for, wait_job

pytestmark = [pytest.mark.handbrake, pytest.mark.timeout(120)]


def fill(disk: Path) -> Path:
    """Take every free byte of the small disk, as a big copy would."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


@pytest.fixture
async def backend(tmp_path: Path, tiny_disk: Path) -> AsyncIterator[LocalBackend]:
    """A backend whose queue lives on the small disk."""
    settings = dataclasses.replace(settings_for(tmp_path), data_dir=tiny_disk / "data")
    backend = LocalBackend(settings)
    await backend.start()
    yield backend
    await backend.stop()


async def test_enqueue_on_a_full_queue_is_refused_clearly_then_works(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    rip = place(clip, tmp_path / "inbox" / "movies" / "Ponyo.mp4")
    await backend.set_cordoned(backend.settings.pony_name, True)  # queue only, no encode
    filler = fill(backend.settings.data_dir.parent)
    with pytest.raises(BackendError, match="cannot be written: database or disk is full"):
        await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    assert backend.snapshot().jobs == ()
    filler.unlink()
    job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    assert job.state is JobState.QUEUED


async def test_runner_reports_a_full_queue_and_resumes_when_it_frees(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    rip = place(clip, tmp_path / "inbox" / "movies" / "Ponyo.mp4")
    await backend.set_cordoned(backend.settings.pony_name, True)
    job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    events = backend.events()
    filler = fill(backend.settings.data_dir.parent)
    backend._runner.cordoned = False  # type: ignore[union-attr]  # uncordon without a write
    backend._wake()
    lost = await asyncio.wait_for(_next_connection_event(events), 10)
    assert not lost.connected and "database or disk is full" in (lost.error or "")
    assert backend.snapshot().jobs[0].state is JobState.QUEUED  # nothing claimed, nothing lost
    filler.unlink()
    back = await asyncio.wait_for(_next_connection_event(events), 10)
    assert back.connected
    done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED}, 60)
    assert done.state is JobState.SUCCEEDED, done.reason


async def _next_connection_event(events: AsyncIterator[object]) -> SourceStatus:
    async for event in events:
        if isinstance(event, SourceChanged):
            return event.status
    raise AssertionError("events ended")


async def test_full_output_disk_fails_the_job_with_the_reason_and_keeps_the_rip(
    tmp_path: Path, media_dir: Path, tiny_disk: Path
) -> None:
    settings = dataclasses.replace(settings_for(tmp_path), output_dir=tiny_disk / "library")
    backend = LocalBackend(settings)
    await backend.start()
    try:
        rip = place(long_clip_in(media_dir), tmp_path / "inbox" / "movies" / "big.mp4")
        job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
        done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED}, 60)
    finally:
        await backend.stop()
    assert done.state is JobState.FAILED
    assert "No space left on device" in (done.reason or "")
    assert rip.exists(), "the rip is never touched when the encode fails"
    assert [p for p in tiny_disk.rglob("*") if p.is_file()] == [], "no partial output left"
