"""Every key of the console through Pilot, against the real local backend and HandBrake.

Assertions are on the backend's state (the queue), not only on the screen.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, OptionList, Static

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.demo import copy_settled, settle
from ponyconsole.domain.models import EnqueueRequest, Job, JobState
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.screens.confirm import Confirm
from ponyconsole.ui.screens.enqueue import EnqueueScreen
from ponyconsole.ui.screens.help import HelpScreen
from ponyconsole.ui.screens.job_detail import JobDetailScreen
from ponyconsole.ui.widgets.job_list import JobList
from tests.local_support import TEST_PRESET, handbrakes_under, long_clip_in, place, settings_for

pytestmark = [pytest.mark.handbrake, pytest.mark.timeout(120)]


async def until(pilot: Pilot[None], check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await pilot.pause(0.05)


def jobs_of(backend: LocalBackend) -> dict[str, Job]:
    return {job.id: job for job in backend.snapshot().jobs}


def garbage(root: Path, name: str) -> Path:
    path = root / "inbox" / "movies" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(100_000))
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


def console(tmp_path: Path) -> tuple[PonyConsole, LocalBackend]:
    backend = LocalBackend(settings_for(tmp_path))
    return PonyConsole(backend), backend


async def started(pilot: Pilot[None], app: PonyConsole) -> None:
    await until(pilot, lambda: app.query("PonyTile"))


async def running_job(
    pilot: Pilot[None], app: PonyConsole, backend: LocalBackend, tmp_path: Path, media_dir: Path
) -> Job:
    """A 20 s clip encoding (about 3 s of work here), seen running by both backend and UI."""
    rip = place(long_clip_in(media_dir), tmp_path / "inbox" / "movies" / "long.mp4")
    job = await backend.enqueue(EnqueueRequest(str(rip), "movies", TEST_PRESET))
    await until(pilot, lambda: jobs_of(backend)[job.id].state is JobState.RUNNING)
    await until(
        pilot,
        lambda: getattr(app.query_one(JobList).jobs.get(job.id), "state", None) is JobState.RUNNING,
    )
    return job


async def failed_jobs(
    pilot: Pilot[None], backend: LocalBackend, tmp_path: Path, names: list[str]
) -> list[Job]:
    ids = []
    for name in names:
        job = await backend.enqueue(
            EnqueueRequest(str(garbage(tmp_path, name)), "movies", TEST_PRESET)
        )
        ids.append(job.id)
    await until(pilot, lambda: all(jobs_of(backend)[i].state is JobState.FAILED for i in ids), 60)
    # ... and seen so by the console (its view follows the backend's events, merged a few
    # times a second): a key pressed before would act on the job's previous state.
    shown = pilot.app.query_one(JobList).jobs
    await until(
        pilot, lambda: all(getattr(shown.get(i), "state", None) is JobState.FAILED for i in ids)
    )
    return [jobs_of(backend)[i] for i in ids]


async def test_e_enqueues_the_chosen_rip(tmp_path: Path, clip: Path) -> None:
    rip = place(clip, tmp_path / "inbox" / "movies" / "Porco Rosso (1992).mp4")
    app, backend = console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EnqueueScreen))
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#rips", OptionList).option_count == 1)
        await until(pilot, lambda: not screen.query_one("#enqueue", Button).disabled)
        assert screen.query_one("#title").selection == 1  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(jobs_of(backend)) == 1)
        (job,) = jobs_of(backend).values()
        assert job.source == str(rip)
        assert job.library == "movies"
        assert job.preset == TEST_PRESET, "the dialog offers the configured default preset first"
        await until(pilot, lambda: job.id in app.query_one(JobList).jobs)


async def test_r_retries_the_selected_failed_job(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        (job,) = await failed_jobs(pilot, backend, tmp_path, ["broken.mkv"])
        assert job.reason, "a failed job says why"
        job_list = app.query_one(JobList)
        await until(
            pilot,
            lambda: (
                job_list.selected
                and job_list.selected.id == job.id
                and job_list.selected.state is JobState.FAILED
            ),  # the list shows it failed
        )
        await pilot.press("r")
        await until(pilot, lambda: jobs_of(backend)[job.id].retries == 1)
        await until(pilot, lambda: jobs_of(backend)[job.id].state is JobState.FAILED, 60)


async def test_r_does_nothing_on_a_running_job(tmp_path: Path, media_dir: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        job = await running_job(pilot, app, backend, tmp_path, media_dir)
        await until(pilot, lambda: app.query_one(JobList).selected is not None)
        assert app.check_action("retry", ()) is None  # dimmed in the footer
        await pilot.press("r")
        await pilot.pause(0.3)
        assert jobs_of(backend)[job.id].retries == 0


async def test_shift_r_confirms_with_the_count_then_retries_all(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        jobs = await failed_jobs(pilot, backend, tmp_path, ["one.mkv", "two.mkv"])

        def shown_failed() -> bool:
            shown = app.query_one(JobList).jobs
            return len(shown) == 2 and all(j.state is JobState.FAILED for j in shown.values())

        await until(pilot, shown_failed)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == "Retry 2 failed jobs?"  # type: ignore[attr-defined]
        await pilot.press("n")  # declined: nothing changes
        await pilot.pause(0.2)
        assert all(jobs_of(backend)[j.id].retries == 0 for j in jobs)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: all(jobs_of(backend)[j.id].retries == 1 for j in jobs))


async def test_x_cancels_a_running_encode_after_confirmation(
    tmp_path: Path, media_dir: Path
) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        job = await running_job(pilot, app, backend, tmp_path, media_dir)
        await until(pilot, lambda: handbrakes_under(tmp_path))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert "long.mp4" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: jobs_of(backend)[job.id].state is JobState.CANCELLED)
        await until(pilot, lambda: not handbrakes_under(tmp_path), 10)


async def test_c_cordons_and_uncordons_the_pony(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: backend.snapshot().nodes[0].cordoned)
        tile = app.query_one("PonyTile")
        await until(pilot, lambda: "cordoned" in str(tile.border_title))
        await pilot.press("c")
        await until(pilot, lambda: not backend.snapshot().nodes[0].cordoned)


async def test_slash_filters_and_escape_clears(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await failed_jobs(pilot, backend, tmp_path, ["alpha.mkv", "beta.mkv"])
        job_list = app.query_one(JobList)
        await until(pilot, lambda: len(job_list.visible_jobs) == 2)
        await pilot.press("slash", "b", "e", "t", "a")
        assert [j.name for j in job_list.visible_jobs] == ["beta.mkv"]
        await pilot.press("enter")  # keeps the filter, back to the list
        assert job_list.has_focus and len(job_list.visible_jobs) == 1
        await pilot.press("escape")
        assert len(job_list.visible_jobs) == 2


async def test_question_mark_lists_every_key(tmp_path: Path) -> None:
    app, _ = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text_console = Console(width=100, record=True, file=io.StringIO())
        text_console.print(app.screen.query_one("#help-table", Static).content)
        table = text_console.export_text()
        for text in ("Retry every failed job", "Cordon or uncordon", "Enqueue a rip"):
            assert text in table
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_enter_shows_command_and_output_and_mouse_selects(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await failed_jobs(pilot, backend, tmp_path, ["a.mkv", "b.mkv"])
        job_list = app.query_one(JobList)
        await until(pilot, lambda: len(job_list.visible_jobs) == 2)
        await pilot.click(JobList, offset=(5, 1))  # second row
        assert job_list.selected is not None and job_list.selected.id == job_list.visible_jobs[1].id
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        screen = app.screen
        command = screen.query_one("#detail-command")
        await until(pilot, lambda: "HandBrakeCLI" in str(command.render()))
        assert job_list.selected.name in str(command.render())


async def test_command_palette_runs_actions(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"cordon")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: backend.snapshot().nodes[0].cordoned)


async def test_q_asks_before_interrupting_an_encode(tmp_path: Path, media_dir: Path) -> None:
    app, backend = console(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, app)
        job = await running_job(pilot, app, backend, tmp_path, media_dir)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.is_running, "app quit after n"
        assert jobs_of(backend)[job.id].state is JobState.RUNNING, jobs_of(backend)[job.id]
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)
    await asyncio.sleep(0)
    assert not handbrakes_under(tmp_path)


async def test_hostile_names_stay_on_one_line_and_never_parse_as_markup(tmp_path: Path) -> None:
    app, backend = console(tmp_path)
    name = "[bold]Ponies[red] -x 'quoted'\nsecond line.mkv"
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        (job,) = await failed_jobs(pilot, backend, tmp_path, [name])
        job_list = app.query_one(JobList)
        await until(
            pilot,
            lambda: job.id in job_list.jobs and job_list.jobs[job.id].state is JobState.FAILED,
        )
        strip = job_list.render_line(0)
        assert "[bold]Ponies[red]" in strip.text and "␤" in strip.text
        assert strip.cell_length == job_list.scrollable_content_region.width
        await pilot.press("r")  # the notification quotes the name: no markup error
        await until(pilot, lambda: jobs_of(backend)[job.id].retries == 1)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.pause(0.2)
        assert app.is_running


async def test_enqueue_dialog_watches_a_copy_until_it_is_done(tmp_path: Path, clip: Path) -> None:
    rip = tmp_path / "inbox" / "movies" / "Arriving.mp4"
    rip.parent.mkdir(parents=True)
    data = clip.read_bytes()
    rip.write_bytes(data[: len(data) // 2])

    async def copying() -> None:  # the copy goes on, however slow the console is to open
        while True:
            await asyncio.sleep(0.5)
            with rip.open("ab") as f:
                f.write(b"\0" * 64)

    app, backend = console(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        copy = asyncio.create_task(copying())
        await started(pilot, app)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EnqueueScreen))
        options = app.screen.query_one("#rips", OptionList)
        await until(pilot, lambda: options.option_count == 1)
        assert options.get_option_at_index(0).disabled, "a copy in progress cannot be picked"
        assert "copying" in str(options.get_option_at_index(0).prompt)
        copy.cancel()
        rip.write_bytes(data)
        settle(rip)  # the copy is done
        await until(pilot, lambda: not options.get_option_at_index(0).disabled, 10)
        await until(pilot, lambda: not app.screen.query_one("#enqueue", Button).disabled)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(jobs_of(backend)) == 1)


async def test_a_rip_dropped_into_the_inbox_appears_in_the_open_dialog_without_polling(
    tmp_path: Path, clip: Path
) -> None:
    """The backend's InboxChanged brings it: the dialog asks for the rips once, on opening."""
    (tmp_path / "inbox" / "movies").mkdir(parents=True)
    app, backend = console(tmp_path)
    asked: list[float] = []
    list_rips = backend.list_rips

    async def counted() -> list:  # type: ignore[type-arg]
        asked.append(time.monotonic())
        return await list_rips()

    backend.list_rips = counted  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await started(pilot, app)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EnqueueScreen))
        options = app.screen.query_one("#rips", OptionList)
        info = app.screen.query_one("#rip-info", Static)
        await until(pilot, lambda: "inbox is empty" in str(info.render()))
        assert len(asked) == 1, "one look when the dialog opens"
        await pilot.pause(2.5)  # the old dialog looked every 2 s
        assert len(asked) == 1, "no polling by the dialog"

        dropped = time.monotonic()
        copy_settled(clip, tmp_path / "inbox" / "movies" / "Dropped (2024).mp4")
        await until(pilot, lambda: options.option_count == 1, 10)
        appeared = time.monotonic() - dropped
        print(f"the dropped rip appeared in the dialog after {appeared:.2f} s")
        assert "Dropped (2024).mp4" in str(options.get_option_at_index(0).prompt)
        assert appeared < 5.0, appeared  # a poll of the backend's inbox watch (1 s) + a list
        # settled when first seen? The inbox's own clock says copying until it has watched it
        await until(pilot, lambda: not options.get_option_at_index(0).disabled, 10)
        assert len(asked) == 1, "still no polling: the change came as InboxChanged"
