"""Pony tiles: figures never run into their labels, at any width; updates reach the screen.

Also: no styled run of a tile line or a job row starts with a space (rsvg, which turns
the screenshots into PNGs, drops such a space and ran "~24.6 W" and "est" together).
"""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style
from rich.text import Text

from ponyconsole.backends.memory import MemoryBackend
from ponyconsole.backends.protocol import JobChanged, NodeChanged
from ponyconsole.backends.scenes import NOW, local_scene
from ponyconsole.domain.models import Job, JobState, NodeMetrics, PowerSource, Progress
from ponyconsole.domain.models import ProgressState as PS
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.palette import ROLES
from ponyconsole.ui.render_jobs import render_row
from ponyconsole.ui.render_nodes import render_job_line, render_metrics
from ponyconsole.ui.widgets.pony_tile import PonyTile
from tests.test_ui_render import jobs

# A distinct style per role, so styled runs split where a theme would split them.
PALETTE = {role: Style(color=f"color({i + 1})") for i, role in enumerate(ROLES)}

# A figure or unit directly followed by a word, or a word directly followed by a figure:
# "~24.6West", "31.5Wrapl", "2.0Gin", "PWR31.5", "0B/sout", "87%MEM".
TOUCHING = (
    re.compile(r"\d[A-Za-z]{2,}"),
    re.compile(r"[A-Za-z]{2,}\d"),
    re.compile(r"%[^\s…]"),  # an ellipsis where the tile is cut is fine
    re.compile(r"/s[A-Za-z]"),
    re.compile(r"°C[^\s…]"),
    re.compile(r"[A-Za-z]{2,}[~⇅]"),
)

sizes = st.integers(0, 2**44)
rates = st.floats(0, 1e10)
metrics = st.builds(
    NodeMetrics,
    sampled_at=st.just(NOW),
    cpu_percent=st.floats(0, 100),
    per_core=st.lists(st.floats(0, 100), max_size=64).map(tuple),
    mem_used=sizes,
    mem_total=sizes,
    swap_used=sizes,
    swap_total=sizes,
    swap_in_per_s=rates,
    swap_out_per_s=rates,
    load=st.tuples(st.floats(0, 500), st.floats(0, 500), st.floats(0, 500)),
    temperature_c=st.none() | st.floats(-40, 150),
    watts=st.none() | st.floats(0, 5000),
    power_source=st.sampled_from(PowerSource),
)
history = st.lists(st.floats(0, 5000), max_size=70)


def shown(line: Text, width: int) -> Text:
    """The line as a tile draws it: one line, cut with an ellipsis at the width."""
    line = line.copy()
    line.truncate(width, overflow="ellipsis")
    return line


def styled_runs(line: Text) -> list[str]:
    """The line's text split where its style changes (as a terminal or an SVG draws it)."""
    runs: list[tuple[Style | None, str]] = []
    for segment in line.render(Console(width=10_000)):
        if runs and runs[-1][0] == segment.style:
            runs[-1] = (segment.style, runs[-1][1] + segment.text)
        else:
            runs.append((segment.style, segment.text))
    return [text for _style, text in runs]


def check_line(line: Text, width: int, figures: bool = True) -> None:
    """Fits the width; no figure touches a word (`figures`: a file name may hold "m2ts")."""
    drawn = shown(line, width)
    assert drawn.cell_len <= width, (drawn.plain, width)
    for pattern in TOUCHING if figures else ():
        assert not pattern.search(drawn.plain), (pattern.pattern, drawn.plain)
    for run in styled_runs(line):
        # rsvg (and so the screenshots' PNGs) drops a run's leading space: "~24.6West".
        assert not re.match(r" +\S", run), (run, line.plain)


@settings(max_examples=300, deadline=None)
@given(
    m=metrics,
    cpu=history,
    watts=history,
    width=st.integers(10, 120),
    compact=st.booleans(),
)
def test_tile_figures_never_touch_at_any_width(
    m: NodeMetrics, cpu: list[float], watts: list[float], width: int, compact: bool
) -> None:
    lines = render_metrics(m, cpu, watts, width, PALETTE, compact=compact)
    assert len(lines) == (2 if compact else 4)
    for line in lines:
        check_line(line, width)


def test_every_width_of_the_scene_tiles() -> None:
    """The figures the screenshots show, at each width from 10 to 120 columns."""
    nodes, jobs, _rips = local_scene()
    m = nodes[0].metrics
    assert m is not None
    for source in PowerSource:
        for width in range(10, 121):
            for compact in (False, True):
                lines = render_metrics(
                    replace(m, power_source=source), [50.0] * 60, [20.0] * 60, width, PALETTE,
                    compact=compact,
                )  # fmt: skip
                for line in lines:
                    check_line(line, width)
            for job in jobs:
                check_line(render_job_line(job, width, PALETTE), width, figures=False)
    plain = render_metrics(m, [], [], 120, PALETTE)[3].plain
    assert "PWR ~24.6 W est" in plain
    plain = render_metrics(replace(m, power_source=PowerSource.RAPL), [], [], 120, PALETTE)[3]
    assert "PWR 24.6 W rapl" in plain.plain
    swap = render_metrics(m, [], [], 120, PALETTE)[2].plain
    assert swap.startswith("SWP 120.0M/2.0G in 0B/s out 0B/s")


@settings(max_examples=200, deadline=None)
@given(
    percent=st.floats(0, 100),
    name=st.text(max_size=80),
    width=st.integers(10, 120),
)
def test_job_line_fits_and_keeps_the_percentage_apart(
    percent: float, name: str, width: int
) -> None:
    job = Job(
        id="j",
        source=f"/in/{name}",
        library="movies",
        preset="Fast 1080p30",
        state=JobState.RUNNING,
        progress=Progress(PS.WORKING, overall_percent=percent),
        created_at=NOW,
    )
    line = render_job_line(job, width, PALETTE)
    drawn = shown(line, width)
    assert drawn.cell_len <= width
    if width >= 20:
        assert drawn.plain.endswith(f" {percent:.0f}%")
    for run in styled_runs(line):
        assert not re.match(r" +\S", run), (run, line.plain)


def screen_text(app: PonyConsole) -> str:
    svg = app.export_screenshot()
    return unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_a_sample_and_a_progress_update_reach_the_screen() -> None:
    """The tile repaints only the lines that changed: they must still show the new values."""
    for size in ((160, 48), (80, 24)):
        nodes, jobs, rips = local_scene()
        backend = MemoryBackend(nodes, jobs, rips)
        app = PonyConsole(backend, clock=lambda: NOW)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            tile = app.query_one(PonyTile)
            node, job = nodes[0], tile.job
            assert job is not None and job.progress is not None and node.metrics is not None
            before = screen_text(app)
            assert "87%" in before and "71%" in before
            sample = replace(node.metrics, cpu_percent=13.0, watts=9.5, sampled_at=NOW + 1)
            backend._emit(NodeChanged(replace(node, metrics=sample)))
            progress = replace(job.progress, overall_percent=42.0)
            backend._emit(JobChanged(replace(job, progress=progress)))
            await pilot.pause(0.2)
            after = screen_text(app)
            assert "CPU  13%" in after and "~9.5 W" in after, after
            assert "87%" not in after
            assert "42%" in after and "71%" not in after


@settings(max_examples=200, deadline=None)
@given(job=jobs, width=st.integers(60, 260))
def test_no_styled_run_of_a_job_row_starts_with_a_space(job: Job, width: int) -> None:
    """Job rows keep the same rule as tiles, so screenshots viewed through rsvg read right."""
    row = render_row(job, width, NOW, PALETTE)
    assert row.cell_len == width
    for run in styled_runs(row):
        assert not re.match(r" +\S", run), (run, row.plain)
