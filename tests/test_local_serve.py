"""`ponyconsole serve` as a real process: it encodes with no console, owns its queue alone,
and consoles (Pilot, LocalBackend) attach to it: they follow its progress, cancel its encodes,
quit without stopping them, and take the queue over when it goes away."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.protocol import BackendError
from ponyconsole.demo import make_clip
from ponyconsole.domain.models import EnqueueRequest, JobState
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.screens.confirm import Confirm
from ponyconsole.ui.widgets.job_list import JobList
from tests.local_support import TEST_PRESET, handbrakes_under, place, settings_for, wait_job
from tests.serve_support import Serve, ponyconsole

pytestmark = [pytest.mark.handbrake, pytest.mark.timeout(240)]


@pytest.fixture(scope="session")
def longer_clip(media_dir: Path) -> Path:
    """60 s at 640x480: several seconds of encoding even on a fast machine. Made once."""
    path = media_dir / "longer.mp4"
    if not path.exists():
        make_clip(path.with_name("longer.tmp.mp4"), seconds=60, size="640x480").rename(path)
    return path


async def until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def enqueue_as_client(root: Path, rip: Path) -> str:
    """What `ponyconsole enqueue` does, in-process: a light client, no runner."""
    client = LocalBackend(settings_for(root))
    await client.start_client()
    try:
        return (await client.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))).id
    finally:
        await client.stop()


def test_serve_encodes_a_clip_with_no_console(clip: Path, tmp_path: Path) -> None:
    serve = Serve(tmp_path)
    try:
        serve.wait_line(r"serving .* as pony testpony, pid \d+: 0 jobs")
        rip = place(clip, tmp_path / "inbox" / "movies" / "Clip One.mp4")
        done = ponyconsole(tmp_path, "enqueue", str(rip))
        assert done.returncode == 0, done.stderr
        assert "no runner" not in done.stderr  # serve runs the queue
        job_id = done.stdout.split()[0]
        started = serve.wait_line(rf"{job_id} Clip One\.mp4 running \(HandBrake pid (\d+)", 30)
        assert int(started.group(1)) > 0
        serve.wait_line(rf"{job_id} Clip One\.mp4 succeeded in \d+ s -> .*Clip One\.mkv", 90)
    finally:
        code = serve.stop()
    assert code == 0
    assert serve.lines[-1].endswith("stopped")
    assert (tmp_path / "library" / "movies" / "Clip One.mkv").stat().st_size > 0
    assert all(line[:4].isdigit() and "\x1b" not in line for line in serve.lines)  # plain, timed


def test_sigterm_interrupts_the_encode_and_the_next_serve_reruns_it(
    longer_clip: Path, tmp_path: Path
) -> None:
    rip = place(longer_clip, tmp_path / "inbox" / "movies" / "longer.mp4")
    assert ponyconsole(tmp_path, "enqueue", str(rip)).returncode == 0
    serve = Serve(tmp_path)
    try:
        pid = int(serve.wait_line(r"longer\.mp4 running \(HandBrake pid (\d+)", 30).group(1))
    finally:
        code = serve.stop()
    assert code == 0 and not alive(pid)
    serve.wait_line(r"longer\.mp4 interrupted: console stopped", 1)
    assert handbrakes_under(tmp_path) == []
    again = Serve(tmp_path)
    try:
        again.wait_line(r"1 job, 1 waiting")
        again.wait_line(r"longer\.mp4 succeeded", 120)
    finally:
        assert again.stop() == 0


def test_a_second_serve_on_the_same_queue_refuses(tmp_path: Path) -> None:
    first = Serve(tmp_path)
    try:
        first.wait_line(r"serving ")
        second = Serve(tmp_path)
        try:
            code = second.proc.wait(timeout=30)
        finally:
            second.kill()
        assert code == 1
        assert second.lines == [
            f"ponyconsole serve: the queue is already served by pid {first.pid}"
        ]
        assert first.proc.poll() is None  # the owner is untouched
    finally:
        assert first.stop() == 0


async def test_serve_refuses_while_a_console_runs_the_queue(tmp_path: Path) -> None:
    console = LocalBackend(settings_for(tmp_path))
    await console.start()
    try:
        assert console.runner_owner == "this console" and console.runs_queue
        serve = Serve(tmp_path)
        try:
            assert await asyncio.to_thread(serve.proc.wait, 30) == 1
        finally:
            serve.kill()
        assert serve.lines[0].endswith(
            f"already served by pid {os.getpid()}, a console: quit it first"
        )
    finally:
        await console.stop()


async def test_a_console_attached_to_serve_follows_cancels_and_quits_without_stopping_it(
    longer_clip: Path, tmp_path: Path
) -> None:
    first = place(longer_clip, tmp_path / "inbox" / "movies" / "first.mp4")
    second = place(longer_clip, tmp_path / "inbox" / "movies" / "second.mp4")
    first_id = await enqueue_as_client(tmp_path, first)
    serve = Serve(tmp_path)
    backend = LocalBackend(settings_for(tmp_path))
    app = PonyConsole(backend)
    try:
        match = await asyncio.to_thread(
            serve.wait_line, r"first\.mp4 running \(HandBrake pid (\d+)", 30
        )
        first_hb = int(match.group(1))
        async with app.run_test(size=(120, 30)) as pilot:
            jobs = app.query_one(JobList)
            await until(lambda: backend.runner_owner.startswith("serve"), 30, "attach")
            assert not backend.runs_queue
            assert backend.runner_owner == f"serve (pid {serve.pid})"
            await until(lambda: "attached to serve" in app.status.mode, 5, "status bar")
            assert app.status.mode == f"local · attached to serve (pid {serve.pid})"

            # The owner's progress shows here, moving.
            seen: set[float] = set()

            def progress() -> bool:
                job = jobs.jobs.get(first_id)
                if job is not None and job.progress is not None:
                    seen.add(round(job.progress.overall_percent, 1))
                return len(seen) >= 3

            await until(progress, 60, "three different progress figures")

            # x in this console stops serve's HandBrake (serve sees the row cancelled).
            await pilot.press("x")
            await until(lambda: isinstance(app.screen, Confirm), 10, "the confirmation")
            await pilot.press("y")
            await until(lambda: not alive(first_hb), 10, "serve's HandBrake to stop")
            await asyncio.to_thread(serve.wait_line, r"first\.mp4 cancelled", 10)
            # the attached console learns it from the queue file, at its next look
            await until(
                lambda: jobs.jobs[first_id].state is JobState.CANCELLED, 5, "cancelled here"
            )
            partials = list((tmp_path / "library").rglob(".*partial*"))
            await until(lambda: not list((tmp_path / "library").rglob(".*")), 10, "no partial")
            assert serve.proc.poll() is None, partials

            # An enqueue from the console goes through the queue; serve runs it.
            job = await backend.enqueue(EnqueueRequest(str(second), "movies", TEST_PRESET))
            match = await asyncio.to_thread(
                serve.wait_line, r"second\.mp4 running \(HandBrake pid (\d+)", 30
            )
            second_hb = int(match.group(1))
            await until(
                lambda: (
                    jobs.jobs.get(job.id) is not None
                    and jobs.jobs[job.id].state is JobState.RUNNING
                ),
                10,
                "the console to see it running",
            )
            # q quits at once (no confirmation): the encode belongs to serve.
            await pilot.press("q")
            await pilot.pause(0.2)
        assert alive(second_hb), "quitting an attached console stopped serve's encode"
        time.sleep(1.0)
        assert alive(second_hb) and serve.proc.poll() is None
        await asyncio.to_thread(serve.wait_line, r"second\.mp4 succeeded", 120)
    finally:
        assert serve.stop() == 0


async def test_cancel_from_a_second_console_stops_the_first_consoles_encode(
    longer_clip: Path, tmp_path: Path
) -> None:
    owner = LocalBackend(settings_for(tmp_path))
    await owner.start()
    app = PonyConsole(LocalBackend(settings_for(tmp_path)))
    try:
        rip = place(longer_clip, tmp_path / "inbox" / "movies" / "shared.mp4")
        job = await owner.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
        await wait_job(owner, job.id, {JobState.RUNNING})
        await until(lambda: handbrakes_under(tmp_path), 20, "the owner's HandBrake")
        async with app.run_test(size=(120, 30)) as pilot:
            attached: LocalBackend = app.backend  # type: ignore[assignment]
            await until(lambda: attached.runner_owner.startswith("console (pid"), 30, "attach")
            jobs = app.query_one(JobList)
            await until(
                lambda: job.id in jobs.jobs and jobs.jobs[job.id].state is JobState.RUNNING,
                10,
                "the second console to see it running",
            )
            await pilot.press("x")
            await until(lambda: isinstance(app.screen, Confirm), 10, "the confirmation")
            await pilot.press("y")
            # The owner notices the cancelled row and stops its own HandBrake.
            done = await wait_job(owner, job.id, {JobState.CANCELLED}, 10)
            assert done.reason == "cancelled by user"
            await until(lambda: not handbrakes_under(tmp_path), 10, "HandBrake to stop")
            await until(lambda: not owner._runner.running_ids(), 10, "the owner's task")  # type: ignore[union-attr]
            assert not list((tmp_path / "library").rglob("*.mkv"))
    finally:
        await owner.stop()


async def test_an_attached_console_takes_over_when_serve_stops(
    longer_clip: Path, tmp_path: Path
) -> None:
    rip = place(longer_clip, tmp_path / "inbox" / "movies" / "handover.mp4")
    job_id = await enqueue_as_client(tmp_path, rip)
    serve = Serve(tmp_path)
    backend = LocalBackend(settings_for(tmp_path))
    try:
        await asyncio.to_thread(serve.wait_line, r"handover\.mp4 running \(HandBrake pid", 30)
        await backend.start()
        assert backend.runner_owner == f"serve (pid {serve.pid})" and not backend.runs_queue
        assert await asyncio.to_thread(serve.stop) == 0
        await until(lambda: backend.runs_queue, 15, "the take-over")
        assert backend.runner_owner == "this console"
        done = await wait_job(backend, job_id, {JobState.SUCCEEDED, JobState.FAILED}, 120)
        assert done.state is JobState.SUCCEEDED, done.reason
    finally:
        serve.kill()
        await backend.stop()


async def test_a_console_that_owns_the_queue_refuses_nothing_and_a_client_sees_it(
    tmp_path: Path,
) -> None:
    owner = LocalBackend(settings_for(tmp_path))
    await owner.start()
    client = LocalBackend(settings_for(tmp_path))
    try:
        await client.start_client()
        assert client.runner_owner.startswith("console (pid") and not client.runs_queue
        with pytest.raises(BackendError, match="already served by pid"):
            await LocalBackend(settings_for(tmp_path), role="serve", attach=False).start()
    finally:
        await client.stop()
        await owner.stop()
    client = LocalBackend(settings_for(tmp_path))
    await client.start_client()
    assert client.runner_owner == "nobody"
    await client.stop()
