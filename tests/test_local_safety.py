"""Nothing lost, nothing escapes: same-name outputs, bad libraries, concurrent encodes and
file names that are not UTF-8, with real files and the real HandBrakeCLI."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import EnqueueRequest, JobState
from tests.fixtures.media import make_clip
from tests.local_support import (
    TEST_PRESET,
    long_clip_in,
    place,
    settings_for,
    settled_rips,
    wait_job,
)

pytestmark = [pytest.mark.handbrake, pytest.mark.timeout(180)]
DONE = {JobState.SUCCEEDED, JobState.FAILED}


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[LocalBackend]:
    backend = LocalBackend(settings_for(tmp_path))
    await backend.start()
    yield backend
    await backend.stop()


@pytest.fixture(scope="session")
def short_clip(media_dir: Path) -> Path:
    path = media_dir / "short.mp4"
    if not path.exists():
        make_clip(path.with_name("short.tmp.mp4"), seconds=2).rename(path)
    return path


def _request(path: Path, library: str = "movies") -> EnqueueRequest:
    return EnqueueRequest(str(path), library, TEST_PRESET)


def library_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root / "library")): p.read_bytes()
        for p in sorted((root / "library").rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "names",
    [("a.mp4", "a.mkv"), ("new\nline.mkv", "new line.mkv")],
    ids=["same-stem", "newline-vs-space"],
)
async def test_rips_that_clean_to_one_name_get_numbered_outputs(
    backend: LocalBackend, short_clip: Path, tmp_path: Path, names: tuple[str, str]
) -> None:
    await backend.set_cordoned("testpony", True)  # both are named before either runs
    jobs = [
        await backend.enqueue(_request(place(short_clip, tmp_path / "inbox" / n))) for n in names
    ]
    stem = Path(names[1]).stem
    assert [Path(j.output or "").name for j in jobs] == [f"{stem}.mkv", f"{stem} (2).mkv"]
    await backend.set_cordoned("testpony", False)
    for job in jobs:
        done = await wait_job(backend, job.id, DONE, 60)
        assert done.state is JobState.SUCCEEDED, done.reason
        assert Path(done.output or "").stat().st_size > 0
    assert sorted(library_files(tmp_path)) == [f"movies/{stem} (2).mkv", f"movies/{stem}.mkv"]


async def test_an_existing_library_file_is_never_overwritten(
    backend: LocalBackend, short_clip: Path, tmp_path: Path
) -> None:
    movies = tmp_path / "library" / "movies"
    movies.mkdir(parents=True)
    (movies / "Film.mkv").write_bytes(b"the user's own Film.mkv")
    await backend.set_cordoned("testpony", True)
    first = await backend.enqueue(_request(place(short_clip, tmp_path / "inbox" / "Film.mp4")))
    assert first.output == str(movies / "Film (2).mkv")  # decided at enqueue time
    # A file appears under the chosen name after the enqueue: the final move sees it too.
    late = await backend.enqueue(_request(place(short_clip, tmp_path / "inbox" / "Late.mp4")))
    assert late.output == str(movies / "Late.mkv")
    (movies / "Late.mkv").write_bytes(b"copied in by hand meanwhile")
    await backend.set_cordoned("testpony", False)
    done_first = await wait_job(backend, first.id, DONE, 60)
    done_late = await wait_job(backend, late.id, DONE, 60)
    assert (done_first.state, done_late.state) == (JobState.SUCCEEDED, JobState.SUCCEEDED)
    assert done_late.output == str(movies / "Late (2).mkv"), "the job says where it went"
    files = library_files(tmp_path)
    assert files["movies/Film.mkv"] == b"the user's own Film.mkv"
    assert files["movies/Late.mkv"] == b"copied in by hand meanwhile"
    assert len(files["movies/Film (2).mkv"]) > 1000 and len(files["movies/Late (2).mkv"]) > 1000
    assert sorted(files) == [
        "movies/Film (2).mkv",
        "movies/Film.mkv",
        "movies/Late (2).mkv",
        "movies/Late.mkv",
    ]


@pytest.mark.parametrize(
    "library",
    ["../x", "/etc", "a/../../b", " ", ".x", "..", "a/b", "nul\x00byte", "two\nlines"],
    ids=repr,
)
async def test_a_library_that_leaves_the_output_folder_is_refused(
    backend: LocalBackend, short_clip: Path, tmp_path: Path, library: str
) -> None:
    rip = place(short_clip, tmp_path / "inbox" / "escape.mp4")
    with pytest.raises(BackendError, match=r"^refused: (the )?library"):
        await backend.enqueue(_request(rip, library))
    assert backend.snapshot().jobs == ()
    assert not (tmp_path / "x").exists() and not (tmp_path / "b").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "inbox", "library"]


async def test_no_library_means_the_rips_inbox_folder_which_is_checked_too(
    backend: LocalBackend, short_clip: Path, tmp_path: Path
) -> None:
    await backend.set_cordoned("testpony", True)
    rip = place(short_clip, tmp_path / "inbox" / "tv" / "ep.mp4")
    job = await backend.enqueue(_request(rip, ""))
    assert job.library == "tv" and job.output == str(tmp_path / "library" / "tv" / "ep.mkv")
    odd = place(short_clip, tmp_path / "inbox" / "tv\nshows" / "ep.mp4")
    with pytest.raises(BackendError, match=re.escape(r"refused: library 'tv\nshows' contains")):
        await backend.enqueue(_request(odd, ""))
    assert [j.id for j in backend.snapshot().jobs] == [job.id]


async def test_libraries_offered_are_inbox_and_library_folders(
    backend: LocalBackend, short_clip: Path, tmp_path: Path
) -> None:
    place(short_clip, tmp_path / "inbox" / "tv" / "ep.mp4")
    (tmp_path / "library" / "documentaries").mkdir(parents=True)
    (tmp_path / "library" / ".hidden").mkdir()
    await backend.list_rips()
    assert backend.libraries() == ["documentaries", "movies", "tv"]


async def test_two_encodes_at_once_with_the_same_stem(tmp_path: Path, media_dir: Path) -> None:
    backend = LocalBackend(dataclasses.replace(settings_for(tmp_path), concurrency=2))
    await backend.start()
    try:
        other = media_dir / "other-long.mp4"
        if not other.exists():
            make_clip(other.with_name("other.tmp.mp4"), seconds=16, size="480x360").rename(other)
        await backend.set_cordoned("testpony", True)
        a = await backend.enqueue(
            _request(place(long_clip_in(media_dir), tmp_path / "inbox" / "a.mp4"))
        )
        b = await backend.enqueue(_request(place(other, tmp_path / "inbox" / "a.mkv")))
        await backend.set_cordoned("testpony", False)
        movies = tmp_path / "library" / "movies"
        both_running = False
        partials: set[str] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = {j.id: j.state for j in backend.snapshot().jobs}
            if states[a.id] is JobState.RUNNING and states[b.id] is JobState.RUNNING:
                both_running = True
                if movies.is_dir():
                    partials |= {p.name for p in movies.iterdir() if ".partial" in p.name}
            if all(s in DONE for s in states.values()):
                break
            await asyncio.sleep(0.05)
        assert both_running, "the two encodes never ran at the same time"
        assert {f".a.{a.id}.partial.mkv", f".a (2).{b.id}.partial.mkv"} <= partials
        done_a = await wait_job(backend, a.id, DONE, 60)
        done_b = await wait_job(backend, b.id, DONE, 60)
        assert done_a.state is JobState.SUCCEEDED, done_a.reason
        assert done_b.state is JobState.SUCCEEDED, done_b.reason
        out_a, out_b = Path(done_a.output or ""), Path(done_b.output or "")
        assert (out_a.name, out_b.name) == ("a.mkv", "a (2).mkv")
        assert out_a.read_bytes() != out_b.read_bytes()
        assert sorted(p.name for p in movies.iterdir()) == ["a (2).mkv", "a.mkv"]  # no partials
    finally:
        await backend.stop()


NOT_UTF8 = os.fsdecode(b"caf\xe9 \xff rip.mp4")


async def test_a_name_that_is_not_utf8_lists_queues_and_encodes(
    backend: LocalBackend, short_clip: Path, tmp_path: Path
) -> None:
    rip = place(short_clip, tmp_path / "inbox" / NOT_UTF8)
    assert os.fsencode(rip).endswith(b"caf\xe9 \xff rip.mp4")
    (disc,) = await settled_rips(backend)
    assert disc.path == str(rip) and not disc.copying and disc.titles
    job = await backend.enqueue(_request(rip))
    assert job.source == str(rip)
    done = await wait_job(backend, job.id, DONE, 60)
    assert done.state is JobState.SUCCEEDED, done.reason
    # HandBrake packs paths into JSON and fails on such a name: it got an ASCII symlink to it.
    given = Path(done.command[2])
    assert given.is_symlink() and given.name.isascii() and given.resolve() == rip.resolve()
    out = Path(done.output or "")
    assert out.name == "caf\ufffd \ufffd rip.mkv" and out.stat().st_size > 0
    # The queue kept the exact path: another console on the same queue reads it back.
    await backend.stop()
    again = LocalBackend(backend.settings)
    await again.start()
    try:
        (reloaded,) = again.snapshot().jobs
        assert reloaded.source == str(rip) and reloaded.state is JobState.SUCCEEDED
        assert reloaded.name == "caf\ufffd \ufffd rip.mp4"  # what a screen shows
    finally:
        await again.stop()
    await backend.start()
