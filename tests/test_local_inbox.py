"""The inbox: what counts as a rip, libraries, copying detection, symlinks leading out."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import EnqueueRequest, RipKind
from tests.local_support import TEST_PRESET, place, settings_for, settled_rips

pytestmark = pytest.mark.handbrake


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    # Cordoned: these tests only look at the inbox, nothing should start encoding.
    backend = LocalBackend(settings_for(tmp_path, settle_seconds=2.0))
    await backend.start()
    await backend.set_cordoned("testpony", True)
    yield backend
    await backend.stop()


async def test_lists_files_disc_folders_and_libraries(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    place(clip, inbox / "loose.mp4")
    place(clip, inbox / "tv" / "episode.mkv")
    place(clip, inbox / "tv" / ".hidden.mkv")
    place(clip, inbox / "tv" / ".episode.partial.mkv")
    (inbox / "tv" / "notes.txt").write_text("not a rip")
    (inbox / "movies" / "DVD_RIP" / "VIDEO_TS").mkdir(parents=True)
    (inbox / "movies" / "BD_RIP" / "BDMV").mkdir(parents=True)
    for folder in ("DVD_RIP", "BD_RIP"):
        os.utime(inbox / "movies" / folder, (time.time() - 60, time.time() - 60))
    first = {Path(d.path).name: d.copying for d in await backend.list_rips()}
    assert all(first.values()), "a rip seen once is not known to be settled yet"
    rips = {Path(d.path).name: d for d in await settled_rips(backend)}
    assert sorted(rips) == ["BD_RIP", "DVD_RIP", "episode.mkv", "loose.mp4"]
    assert rips["loose.mp4"].library == "movies" and rips["episode.mkv"].library == "tv"
    assert rips["DVD_RIP"].kind is RipKind.DVD and rips["BD_RIP"].kind is RipKind.BLURAY
    assert rips["loose.mp4"].titles[0].duration_seconds == pytest.approx(8.0, abs=0.5)
    assert rips["loose.mp4"].main_title is not None
    assert not rips["loose.mp4"].copying
    assert backend.libraries() == ["movies", "tv"]
    assert "Very Fast 480p30" in backend.presets()


async def test_fresh_file_is_copying_and_refused(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    rip = tmp_path / "inbox" / "arriving.mp4"
    rip.parent.mkdir(parents=True, exist_ok=True)
    rip.write_bytes(clip.read_bytes()[:100_000])  # mtime: now
    (disc,) = await backend.list_rips()
    assert disc.copying and disc.titles == ()
    with pytest.raises(BackendError, match=r"still copying: arriving\.mp4"):
        await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    assert backend.snapshot().jobs == ()


async def test_growing_file_with_old_mtime_is_copying(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    """A copy tool that keeps the old mtime (cp -p, rsync -t) is caught by the size moving,
    even when the inbox first sees the file with its old mtime and it keeps growing."""
    rip = tmp_path / "inbox" / "growing.mp4"
    rip.parent.mkdir(parents=True, exist_ok=True)
    data = clip.read_bytes()
    stop = threading.Event()

    def grow() -> None:
        """Append a chunk every 0.3 s, putting the mtime back an hour each time."""
        with rip.open("wb", buffering=0) as out:
            for start in range(0, len(data), 20_000):
                out.write(data[start : start + 20_000])
                old = time.time() - 3600
                os.utime(rip, (old, old))
                if stop.wait(0.3):
                    return

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        await asyncio.sleep(0.1)
        assert time.time() - rip.stat().st_mtime > 3000  # it looks old
        (first,) = await backend.list_rips()
        assert first.copying, "first seen with an old mtime: not yet known to be settled"
        deadline = time.monotonic() + 2 * backend.settings.settle_seconds + 2
        while time.monotonic() < deadline:
            (disc,) = await backend.list_rips()
            assert disc.copying and disc.titles == ()
            await asyncio.sleep(0.2)
        with pytest.raises(BackendError, match=r"still copying: growing\.mp4"):
            await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
        assert backend.snapshot().jobs == ()
    finally:
        stop.set()
        await asyncio.to_thread(writer.join)
    # Once it stops growing and has been watched for the settle time, it is a rip.
    (settled,) = await settled_rips(backend)
    assert not settled.copying
    job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    assert job.source == str(rip)


async def test_symlink_leading_outside_is_refused(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "escape.mp4").symlink_to(clip)
    inside = place(clip, inbox / "movies" / "real.mp4")
    (inbox / "inside-link.mp4").symlink_to(inside)
    rips = {Path(d.path).name: d for d in await backend.list_rips()}
    assert "outside the inbox" in (rips["escape.mp4"].scan_error or "")
    assert rips["inside-link.mp4"].scan_error is None
    with pytest.raises(BackendError, match="symlink pointing outside the inbox"):
        await backend.enqueue(EnqueueRequest(str(inbox / "escape.mp4"), "movies", TEST_PRESET))
    with pytest.raises(BackendError, match="outside the inbox"):
        await backend.enqueue(EnqueueRequest(str(clip), "movies", TEST_PRESET))
    with pytest.raises(BackendError, match="no such rip"):
        await backend.enqueue(EnqueueRequest(str(inbox / "nope.mkv"), "movies", TEST_PRESET))
    assert backend.snapshot().jobs == ()


async def test_cordon_persists_and_holds_jobs(
    backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    rip = place(clip, tmp_path / "inbox" / "held.mp4")
    job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    assert backend.snapshot().nodes[0].cordoned
    with pytest.raises(BackendError, match="no pony named rarity"):
        await backend.set_cordoned("rarity", True)
    await backend.stop()
    again = LocalBackend(backend.settings)
    await again.start()
    try:
        assert again.snapshot().nodes[0].cordoned
        assert [j.state.value for j in again.snapshot().jobs] == ["queued"]
        assert (await again.job_detail(job.id)).job.id == job.id
    finally:
        await again.stop()
    await backend.start()  # the fixture stops it again
