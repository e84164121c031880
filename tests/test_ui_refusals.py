"""Every refusal as the user sees it, through Pilot, against the real local backend:
a copy in progress, a symlink leading out of the inbox, a bad library, a full disk.

The dialog shows the refusal inline and stays open with the user's choices; the
queue is asserted unchanged.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, Select, Static

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.screens.enqueue import NEW_LIBRARY, EnqueueScreen
from tests.local_support import place, settings_for

pytestmark = [pytest.mark.handbrake, pytest.mark.timeout(120)]


async def until(pilot: Pilot[None], check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await pilot.pause(0.05)


def shown_text(screen: EnqueueScreen, selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


async def dialog(pilot: Pilot[None], app: PonyConsole, rips: int) -> EnqueueScreen:
    await until(pilot, lambda: app.query("PonyTile"))
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, EnqueueScreen))
    screen = app.screen
    assert isinstance(screen, EnqueueScreen)
    await until(pilot, lambda: screen.query_one("#rips", OptionList).option_count == rips)
    return screen


async def ready(pilot: Pilot[None], screen: EnqueueScreen) -> None:
    """The highlighted rip is scanned and the Enqueue button usable."""
    await until(pilot, lambda: not screen.query_one("#enqueue", Button).disabled)


async def test_a_copy_in_progress_cannot_be_picked_and_a_regrowing_one_is_refused(
    tmp_path: Path, clip: Path
) -> None:
    rip = place(clip, tmp_path / "inbox" / "movies" / "Ponyo.mp4")
    backend = LocalBackend(settings_for(tmp_path))
    app = PonyConsole(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await dialog(pilot, app, 1)
        await ready(pilot, screen)
        await backend.set_cordoned("testpony", True)
        # The copy starts again (a re-rip over the same name), keeping an old mtime.
        stop = threading.Event()

        def grow() -> None:
            with rip.open("ab", buffering=0) as out:
                while not stop.wait(0.1):
                    out.write(b"\0" * 4096)
                    old = time.time() - 3600
                    os.utime(rip, (old, old))

        size = rip.stat().st_size
        writer = threading.Thread(target=grow)
        writer.start()
        try:
            await until(pilot, lambda: rip.stat().st_size > size)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "Refused" in shown_text(screen, "#enqueue-error"))
            text = shown_text(screen, "#enqueue-error")
            assert text.startswith("Refused: still copying: Ponyo.mp4 changed"), text
            assert app.screen is screen, "the dialog stays open with the user's choices"
            assert backend.snapshot().jobs == ()
            options = screen.query_one("#rips", OptionList)
            await until(pilot, lambda: options.get_option_at_index(0).disabled, 10)
            assert "copying…" in str(options.get_option_at_index(0).prompt)
        finally:
            stop.set()
            writer.join()


async def test_a_symlink_out_of_the_inbox_is_listed_with_the_reason(
    tmp_path: Path, clip: Path
) -> None:
    inbox = tmp_path / "inbox" / "movies"
    inbox.mkdir(parents=True)
    (inbox / "escape.mp4").symlink_to(clip)
    app = PonyConsole(LocalBackend(settings_for(tmp_path)))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await dialog(pilot, app, 1)
        option = screen.query_one("#rips", OptionList).get_option_at_index(0)
        assert option.disabled
        assert "refused: escape.mp4 is a symlink pointing outside the inbox" in str(option.prompt)
        assert screen.query_one("#enqueue", Button).disabled


async def test_a_bad_library_is_refused_inline_and_a_new_one_works(
    tmp_path: Path, clip: Path
) -> None:
    place(clip, tmp_path / "inbox" / "tv" / "Bluey.mp4")
    (tmp_path / "library" / "documentaries").mkdir(parents=True)
    backend = LocalBackend(settings_for(tmp_path))
    app = PonyConsole(backend)
    async with app.run_test(size=(100, 34)) as pilot:
        screen = await dialog(pilot, app, 1)
        await ready(pilot, screen)
        await backend.set_cordoned("testpony", True)
        library = screen.query_one("#library", Select)
        assert library.value == "tv", "the rip's own library is chosen"
        assert set(screen.libraries) == {"documentaries", "movies", "tv"}
        library.value = NEW_LIBRARY
        await pilot.pause()
        field = screen.query_one("#new-library", Input)
        assert field.display and field.has_focus
        await pilot.press(*"../x")
        await until(pilot, lambda: "Refused" in shown_text(screen, "#library-error"))
        assert shown_text(screen, "#library-error") == (
            "Refused: library '../x' contains a slash; it must be one folder name"
        )
        await pilot.press("ctrl+s")  # the backend refuses it as well
        await until(pilot, lambda: "Refused" in shown_text(screen, "#enqueue-error"))
        assert shown_text(screen, "#enqueue-error") == (
            "Refused: library '../x' contains a slash; it must be one folder name"
        )
        assert backend.snapshot().jobs == () and app.screen is screen
        field.value = ""
        await pilot.press("ctrl+s")  # empty: refused here (to the backend "" means the rip's)
        await until(pilot, lambda: "empty" in shown_text(screen, "#library-error"))
        assert shown_text(screen, "#library-error") == "Refused: the library name is empty"
        assert backend.snapshot().jobs == () and app.screen is screen
        await pilot.press(*"Kids")
        await until(pilot, lambda: not shown_text(screen, "#library-error"))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(backend.snapshot().jobs) == 1)
        (job,) = backend.snapshot().jobs
        assert job.library == "Kids" and job.output == str(tmp_path / "library/Kids/Bluey.mkv")
        await until(pilot, lambda: not isinstance(app.screen, EnqueueScreen))
        await until(pilot, lambda: any("as Kids/Bluey.mkv" in str(n.message)
                                       for n in app._notifications))  # fmt: skip


async def test_a_full_disk_is_refused_inline_and_nothing_is_lost(
    tmp_path: Path, clip: Path, tiny_disk: Path
) -> None:
    from tests.test_local_full_disk import fill

    place(clip, tmp_path / "inbox" / "movies" / "Ponyo.mp4")
    backend = LocalBackend(dataclasses.replace(settings_for(tmp_path), data_dir=tiny_disk / "data"))
    app = PonyConsole(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await dialog(pilot, app, 1)
        await ready(pilot, screen)
        await backend.set_cordoned("testpony", True)
        filler = fill(tiny_disk)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Refused" in shown_text(screen, "#enqueue-error"))
        text = shown_text(screen, "#enqueue-error")
        assert "cannot be written: database or disk is full" in text, text
        assert backend.snapshot().jobs == () and app.screen is screen
        filler.unlink()  # space again: the same choices go through
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(backend.snapshot().jobs) == 1)


async def test_a_name_that_is_not_utf8_renders_everywhere(tmp_path: Path, clip: Path) -> None:
    """Listing, queue, job list, summary and detail: shown with U+FFFD, never a crash."""
    name = os.fsdecode(b"Caf\xe9 \xff.mp4")
    rip = place(clip, tmp_path / "inbox" / "movies" / name)
    backend = LocalBackend(settings_for(tmp_path))
    app = PonyConsole(backend)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await dialog(pilot, app, 1)
        option = screen.query_one("#rips", OptionList).get_option_at_index(0)
        assert "Caf\ufffd \ufffd.mp4" in str(option.prompt)
        await ready(pilot, screen)
        svg = app.export_screenshot()
        svg.encode("utf-8")  # what a terminal write does: strict UTF-8
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(backend.snapshot().jobs) == 1)
        (job,) = backend.snapshot().jobs
        assert job.source == str(rip)
        await until(pilot, lambda: not isinstance(app.screen, EnqueueScreen))
        await until(pilot, lambda: backend.snapshot().jobs[0].state.value == "succeeded", 60)
        await pilot.pause(0.3)
        assert "Caf\ufffd" in app.export_screenshot()  # the job list (SVG splits at spaces)
        await pilot.press("enter")  # the job's detail screen
        await pilot.pause(0.5)
        svg = app.export_screenshot()
        svg.encode("utf-8")
        assert "Caf\ufffd" in svg and app.is_running
