"""The inbox: what counts as a rip, libraries, copying detection, symlinks leading out."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import EnqueueRequest, RipKind
from tests.local_support import TEST_PRESET, place, settings_for

pytestmark = pytest.mark.handbrake


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    # Cordoned: these tests only look at the inbox, nothing should start encoding.
    backend = LocalBackend(settings_for(tmp_path, settle_seconds=5.0))
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
    rips = {Path(d.path).name: d for d in await backend.list_rips()}
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
    """A copy tool that keeps the old mtime (cp -p, rsync -t) is caught by the size moving."""
    rip = place(clip, tmp_path / "inbox" / "growing.mp4")
    assert not (await backend.list_rips())[0].copying
    with rip.open("ab") as f:
        f.write(b"\0" * 1000)
    os.utime(rip, (time.time() - 60, time.time() - 60))
    assert (await backend.list_rips())[0].copying


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
