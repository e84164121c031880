"""The runner with the real HandBrakeCLI: success, cancel, bad input, kills, hostile names."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.scanner import scan_titles
from ponyconsole.backends.protocol import BackendError, JobChanged
from ponyconsole.domain.models import EnqueueRequest, JobState
from tests.fixtures.media import make_clip
from tests.local_support import (
    TEST_PRESET,
    handbrakes_under,
    long_clip_in,
    place,
    settings_for,
    wait_job,
)

pytestmark = pytest.mark.handbrake


@pytest.fixture(scope="session")
def long_clip(media_dir: Path) -> Path:
    return long_clip_in(media_dir)


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    backend = LocalBackend(settings_for(tmp_path))
    await backend.start()
    yield backend
    await backend.stop()


def _request(path: Path, library: str = "movies") -> EnqueueRequest:
    return EnqueueRequest(str(path), library, TEST_PRESET)


async def test_encode_succeeds_with_progress_and_verified_output(
    backend: LocalBackend, long_clip: Path, tmp_path: Path
) -> None:
    rip = place(long_clip, tmp_path / "inbox" / "films" / "Big Buck.mp4")
    events = backend.events()
    seen: list[JobChanged] = []

    async def collect() -> None:  # as a console does: take each event as it comes
        async for event in events:
            if isinstance(event, JobChanged):
                seen.append(event)

    collector = asyncio.create_task(collect())
    job = await backend.enqueue(_request(rip, "films"))
    assert (await backend.enqueue(_request(rip, "films"))).id == job.id  # one job
    done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED})
    assert done.state is JobState.SUCCEEDED, done.reason
    output = Path(done.output or "")
    assert output == tmp_path / "library" / "films" / "Big Buck.mkv"
    assert output.stat().st_size > 0
    (title,) = scan_titles("HandBrakeCLI", output)
    assert abs(title.duration_seconds - 20.0) < 1.0
    assert sorted(p.name for p in output.parent.iterdir()) == ["Big Buck.mkv"]  # no partial left
    assert done.command[:3] == (backend.settings.handbrake, "-i", str(rip))

    deadline = time.monotonic() + 10
    while not any(e.job.id == job.id and e.job.state is JobState.SUCCEEDED for e in seen):
        assert time.monotonic() < deadline, "the success never reached the event stream"
        await asyncio.sleep(0.05)
    collector.cancel()
    states = [e.job.state for e in seen if e.job.id == job.id]
    assert states[0] is JobState.QUEUED and JobState.RUNNING in states
    percents = [
        e.job.progress.overall_percent
        for e in seen
        if e.job.state is JobState.RUNNING and e.job.progress is not None
    ]
    assert percents and percents == sorted(percents) and percents[-1] > percents[0]
    detail = await backend.job_detail(job.id)
    assert any("Encode done" in line for line in detail.log_tail)


async def test_cancel_kills_the_process_group_and_removes_the_partial(
    backend: LocalBackend, long_clip: Path, tmp_path: Path
) -> None:
    rip = place(long_clip, tmp_path / "inbox" / "long.mp4")
    job = await backend.enqueue(_request(rip))
    await wait_job(backend, job.id, {JobState.RUNNING})
    deadline = time.monotonic() + 20
    while not handbrakes_under(tmp_path) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert handbrakes_under(tmp_path)
    with pytest.raises(BackendError, match="is running; cancel it first"):
        await backend.retry(job.id)
    cancelled = await backend.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED
    assert handbrakes_under(tmp_path) == []
    library = tmp_path / "library" / "movies"
    assert not library.exists() or list(library.iterdir()) == []
    with pytest.raises(BackendError, match="nothing to cancel"):
        await backend.cancel(job.id)
    assert (await backend.retry(job.id)).retries == 1


@pytest.mark.parametrize("content", [b"", os.urandom(200_000)], ids=["zero-byte", "garbage"])
async def test_unreadable_rip_fails_with_handbrakes_reason(
    backend: LocalBackend, tmp_path: Path, content: bytes
) -> None:
    with pytest.raises(BackendError, match="no failed jobs"):
        await backend.retry_failed()
    rip = tmp_path / "inbox" / "broken.mkv"
    rip.parent.mkdir(parents=True, exist_ok=True)
    rip.write_bytes(content)
    os.utime(rip, (time.time() - 60, time.time() - 60))
    job = await backend.enqueue(_request(rip))
    done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED})
    assert done.state is JobState.FAILED
    assert done.reason == "HandBrake: No title found."
    assert list((tmp_path / "library").rglob("*.mkv")) == []
    retried = await backend.retry_failed()
    assert [(j.id, j.state, j.retries, j.reason) for j in retried] == [
        (job.id, JobState.QUEUED, 1, "HandBrake: No title found.")
    ]


async def test_handbrake_killed_from_outside_names_the_signal(
    backend: LocalBackend, long_clip: Path, tmp_path: Path
) -> None:
    rip = place(long_clip, tmp_path / "inbox" / "long.mp4")
    job = await backend.enqueue(_request(rip))
    deadline = time.monotonic() + 20
    pid = None
    while pid is None and time.monotonic() < deadline:
        row = await asyncio.to_thread(backend._q.get, job.id)
        pid = row.pid if row else None
        await asyncio.sleep(0.05)
    assert pid is not None
    await asyncio.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED})
    assert done.state is JobState.FAILED
    assert done.reason is not None and "signal 9 (SIGKILL)" in done.reason
    assert list((tmp_path / "library").rglob("*.mkv")) == []


HOSTILE = ["with space 'and' \"quotes\".mp4", "-dash.mp4", "ünïcødé 映画.mp4", "new\nline.mp4"]


async def test_hostile_names_encode(backend: LocalBackend, media_dir: Path, tmp_path: Path) -> None:
    clip = media_dir / "short.mp4"
    if not clip.exists():
        make_clip(clip, seconds=2)
    jobs = [await backend.enqueue(_request(place(clip, tmp_path / "inbox" / n))) for n in HOSTILE]
    outputs = []
    for job in jobs:
        done = await wait_job(backend, job.id, {JobState.SUCCEEDED, JobState.FAILED}, 60)
        assert done.state is JobState.SUCCEEDED, (job.source, done.reason)
        outputs.append(Path(done.output or "").name)
    assert outputs == [
        "with space 'and' \"quotes\".mkv",
        "-dash.mkv",
        "ünïcødé 映画.mkv",
        "new line.mkv",
    ]
    assert all((tmp_path / "library" / "movies" / name).stat().st_size > 0 for name in outputs)


async def test_output_shorter_than_the_source_fails(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    """The verifier compares the real output's duration with what the source scan promised."""
    rip = place(clip, tmp_path / "inbox" / "claims-a-minute.mp4")
    row, _ = await asyncio.to_thread(
        backend._q.enqueue,
        job_id="short1",
        source=str(rip),
        library="movies",
        preset=TEST_PRESET,
        title=None,
        output=str(tmp_path / "library" / "movies" / "claims-a-minute.mkv"),
        source_size=rip.stat().st_size,
        source_duration=60.0,
    )
    backend._runner.wake()  # type: ignore[union-attr]
    done = await wait_job(backend, row.job.id, {JobState.SUCCEEDED, JobState.FAILED})
    assert done.state is JobState.FAILED
    assert done.reason == "output 8 s long, source 60 s"
    assert list((tmp_path / "library").rglob("*.mkv")) == []
