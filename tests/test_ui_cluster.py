"""Cluster mode's screen through Pilot on the memory backend (fast; no cluster needed).

The same keys against the real API server are in tests/test_ui_cluster_real.py;
here the point is the UI: tiles with several items, the compact node lines,
the filter, per-section staleness, refusals up front in read-only mode.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from ponyconsole.backends.memory import MemoryBackend
from ponyconsole.backends.protocol import JobRemoved, NodeRemoved, SourceChanged, SourceStatus
from ponyconsole.backends.scenes import NOW, big_kube_scene, kube_scene
from ponyconsole.domain.models import JobState
from ponyconsole.ui import palette
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.render_jobs import render_row
from ponyconsole.ui.screens.confirm import Confirm
from ponyconsole.ui.screens.job_detail import JobDetailScreen
from ponyconsole.ui.widgets.kube_tile import KubeTile
from ponyconsole.ui.widgets.node_lines import NodeLines
from ponyconsole.ui.widgets.pony_tile import PonyTile

pytestmark = pytest.mark.timeout(60)


async def until(pilot: Pilot[None], check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await pilot.pause(0.02)


def kube(read_only: bool = False) -> MemoryBackend:
    nodes, jobs = kube_scene()
    return MemoryBackend(nodes, jobs, mode="cluster", read_only=read_only)


def tile_text(tile: PonyTile) -> str:
    """The tile's title and lines as plain text."""
    body = "\n".join(tile.render_line(y).text for y in range(tile.content_size.height))
    title = tile.border_title
    title = Text.from_markup(title) if isinstance(title, str) else title or Text()
    return f"{title.plain}\n{body}"


def shown(static: Static) -> str:
    """What a Static shows, as plain text (rendered by Rich at 150 columns)."""
    out = io.StringIO()
    Console(file=out, width=150, color_system=None).print(static.content)
    return out.getvalue()


def laid_out(app: PonyConsole, count: int) -> bool:
    tiles = app.tiles()
    return len(tiles) == count and all(t.content_size.width > 20 for t in tiles)


def tile_of(app: PonyConsole, name: str) -> PonyTile:
    return next(t for t in app.tiles() if t.node_name == name)


async def focus_tile(pilot: Pilot[None], app: PonyConsole, name: str) -> None:
    tile_of(app, name).focus()
    await pilot.pause()


async def test_six_tiles_show_state_requests_and_every_item_on_each_pony() -> None:
    app = PonyConsole(kube(), clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 6))
        assert all(isinstance(t, KubeTile) for t in app.tiles())
        rainbow = tile_text(tile_of(app, "rainbow-dash"))
        assert "Spirited Away" in rainbow and "Princess Mononoke" in rainbow
        assert "71%" in rainbow and "12%" in rainbow
        assert "req CPU 4.1/4" in rainbow
        pinkie = tile_text(tile_of(app, "pinkie-pie"))
        assert "memory pressure" in pinkie
        assert "stalled" in pinkie and "upload" in pinkie
        assert "cordoned, finishing" in tile_text(tile_of(app, "fluttershy"))
        assert "not ready" in tile_text(tile_of(app, "applejack"))
        twilight = tile_text(tile_of(app, "twilight-sparkle"))
        assert "control plane · v1.35.4 · 12d · no agent" in twilight
        assert "idle" in twilight
        assert app.status.render().plain.startswith(
            "ponyconsole cluster · ponies · ns ponyconsole · 6 ponies"
        )


async def test_c_cordons_the_focused_pony_and_its_tile_says_finishing() -> None:
    backend = kube()
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 6))
        await focus_tile(pilot, app, "rarity")
        await pilot.press("c")
        await until(pilot, lambda: backend._nodes["rarity"].cordoned)
        await until(pilot, lambda: "cordoned, finishing" in tile_text(tile_of(app, "rarity")))
        await pilot.press("c")
        await until(pilot, lambda: not backend._nodes["rarity"].cordoned)
        await until(pilot, lambda: "· ready" in tile_text(tile_of(app, "rarity")))


async def test_d_confirms_with_the_pods_it_evicts_then_drains() -> None:
    backend = kube()
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 6))
        await focus_tile(pilot, app, "rainbow-dash")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "spirited-away-2001-transcode" in text
        assert "princess-mononoke-1997-transcode" in text
        await pilot.press("y")
        await until(pilot, lambda: backend._nodes["rainbow-dash"].cordoned)


async def test_enter_on_a_pending_item_shows_its_jobs_and_the_scheduler_message() -> None:
    app = PonyConsole(kube(), clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.job_list.jobs)
        pending = next(j for j in app.job_list.visible_jobs if j.state is JobState.PENDING)
        app.job_list.cursor = app.job_list.visible_jobs.index(pending)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.pause(0.2)
        fields = shown(app.screen.query_one("#detail-fields", Static))
        stages = shown(app.screen.query_one("#detail-stages", Static))
        assert "0/6 nodes are available" in fields
        assert "ponyconsole/my-neighbor-totoro-1988-transcode" in fields
        assert "STAGE" in stages and "transcode  pending" in stages
        row = render_row(pending, 80, NOW, palette.palette_of(app.job_list)).plain
        assert "pending: 0/6 nodes" in row  # the list says it too, at 80 columns
        assert "my-neighbor-totoro-1988-transcode" in stages


async def test_read_only_refuses_every_key_up_front_and_changes_nothing() -> None:
    backend = kube(read_only=True)
    before = backend.snapshot()
    app = PonyConsole(backend, clock=lambda: NOW)
    notes: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 6))
        original = app.notify
        app.notify = lambda message, **kw: (notes.append(str(message)), original(message, **kw))  # type: ignore[method-assign]
        failed = next(j for j in app.job_list.visible_jobs if j.state is JobState.FAILED)
        app.job_list.cursor = app.job_list.visible_jobs.index(failed)
        await pilot.pause()
        for key in ("r", "R", "x"):
            await pilot.press(key)
            await pilot.pause()
        await focus_tile(pilot, app, "rarity")
        for key in ("c", "d", "e"):
            await pilot.press(key)
            await pilot.pause()
        assert not isinstance(app.screen, Confirm)
        assert len(notes) == 6 and all("read-only" in n for n in notes), notes
    after = backend.snapshot()
    assert after.nodes == before.nodes and after.jobs == before.jobs


async def test_each_section_says_how_old_its_data_is_while_its_source_is_lost() -> None:
    backend = kube()
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: laid_out(app, 6))
        assert not app.ponies_stale.display and not app.jobs_stale.display
        backend._emit(SourceChanged(SourceStatus("nodes", NOW - 42, "connection refused")))
        await until(pilot, lambda: app.ponies_stale.display)
        assert app.ponies_stale.render().plain == "⚠ nodes: disconnected, data 42 s old"
        assert not app.jobs_stale.display
        backend._emit(SourceChanged(SourceStatus("pods", NOW - 7, "connection refused")))
        await until(pilot, lambda: app.jobs_stale.display)
        assert app.jobs_stale.render().plain == "⚠ pods: disconnected, data 7 s old"
        await pilot.press("c")  # disconnected: refused with the reason, nothing changes
        await pilot.pause()
        assert not any(n.cordoned for n in backend._nodes.values() if n.name != "fluttershy")
        backend._emit(SourceChanged(SourceStatus("nodes", NOW)))
        await until(pilot, lambda: not app.ponies_stale.display)


async def test_300_nodes_become_one_line_each_filtered_with_slash() -> None:
    nodes, jobs = big_kube_scene()
    backend = MemoryBackend(nodes, jobs, mode="cluster")
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.ponies.lines_mode and app.ponies.count == 300)
        lines = app.query_one(NodeLines)
        assert not app.tiles()  # no widget per node
        assert len(lines.visible_names) == 300
        assert lines.visible_names[0] == "pony-007"  # not ready first
        counts = app.ponies.counts.render().plain
        assert counts.startswith("300 ponies: 282 ready · 6 not ready")
        await pilot.press("slash", *"not ready")
        await until(pilot, lambda: len(lines.visible_names) == 6)
        assert len(app.job_list.visible_jobs) == 0  # the jobs filter too
        await pilot.press("escape")
        await until(pilot, lambda: len(lines.visible_names) == 300)
        # a node changed through the backend moves its line within a beat
        await backend.set_cordoned("pony-100", True)
        await until(pilot, lambda: "pony-100" in lines.visible_names[:30], timeout=1.0)
        lines.focus()
        lines.cursor = lines.visible_names.index("pony-100")
        await pilot.press("c")
        await until(pilot, lambda: not backend._nodes["pony-100"].cordoned, timeout=2.0)


async def test_tiles_turn_into_lines_when_they_no_longer_fit_and_back() -> None:
    nodes, jobs = kube_scene()
    more = [dataclasses.replace(nodes[5], name=f"pony-{i}") for i in range(3)]
    backend = MemoryBackend([*nodes, *more], jobs, mode="cluster")
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 9))  # 3 rows of 8 fit in 60 % of 48
        await pilot.resize_terminal(100, 24)
        await until(pilot, lambda: app.ponies.lines_mode)
        assert not app.tiles()
        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: laid_out(app, 9))


async def test_removing_the_selected_job_or_node_keeps_the_stream_alive() -> None:
    """A JobRemoved/NodeRemoved of the selected row once raised KeyError in the list's
    reorder, which stopped the event stream (a retry on the cluster removes the old Job)."""
    nodes, jobs = big_kube_scene(40)
    backend = MemoryBackend(nodes, jobs, mode="cluster")
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.ponies.lines_mode and app.job_list.jobs)
        selected = app.job_list.selected
        assert selected is not None
        backend._jobs.pop(selected.id)
        backend._emit(JobRemoved(selected.id))
        await until(pilot, lambda: selected.id not in app.job_list.jobs)
        lines = app.query_one(NodeLines)
        gone = lines.selected
        assert gone is not None
        backend._nodes.pop(gone.name)
        backend._emit(NodeRemoved(gone.name))
        await until(pilot, lambda: gone.name not in lines.visible_names)
        await backend.set_cordoned("pony-020", True)  # the stream still flows
        await until(pilot, lambda: app.ponies.nodes["pony-020"].cordoned)
        assert "event stream stopped" not in app.status.render().plain


@pytest.mark.parametrize("scene", ["tiles", "lines"])
async def test_a_progress_update_repaints_its_pony_without_walking_every_item(
    scene: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JobChanged with the same node and state (a progress tick) goes to its own pony only;
    a change of state still walks every item (counts and places may change)."""
    nodes, jobs = kube_scene() if scene == "tiles" else big_kube_scene()
    backend = MemoryBackend(nodes, jobs, mode="cluster")
    app = PonyConsole(backend, clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        # counts are set once the first batch is all applied (its walk is done)
        await until(pilot, lambda: app.ponies.count == len(nodes) and app.status.counts)
        running = next(
            j for j in app.job_list.jobs.values() if j.state is JobState.RUNNING and j.progress
        )
        walks: list[int] = []
        full = app._jobs_changed  # the walk of every item a batch may need
        monkeypatch.setattr(app, "_jobs_changed", lambda: (walks.append(1), full()))
        assert running.progress is not None and running.node is not None
        moved = dataclasses.replace(
            running,
            progress=dataclasses.replace(running.progress, overall_percent=77.0, percent=77.0),
        )
        backend._put(moved)

        def shows_77() -> bool:
            return any(j.progress and j.progress.overall_percent == 77.0
                       for j in app.ponies.items.get(running.node or "", ()))  # fmt: skip

        await until(pilot, shows_77)
        if scene == "tiles":
            await until(pilot, lambda: "77%" in tile_text(tile_of(app, running.node or "")))
        assert walks == []
        assert app.job_list.jobs[running.id].progress == moved.progress

        backend._put(dataclasses.replace(moved, state=JobState.FAILED, reason="boom"))
        await until(pilot, lambda: walks != [])
        await until(
            pilot,
            lambda: all(j.id != running.id for j in app.ponies.items.get(running.node or "", ())),
        )
