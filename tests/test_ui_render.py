"""Row and tile rendering are pure: any job, any width, exactly one line of the right size."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style

from ponyconsole.domain.models import Job, JobState, Progress, ProgressState
from ponyconsole.ui.format import bar, printable
from ponyconsole.ui.palette import ROLES
from ponyconsole.ui.render_jobs import layout, render_header, render_row

PALETTE = {role: Style() for role in ROLES}

progress = st.builds(
    Progress,
    state=st.sampled_from(ProgressState),
    pass_=st.integers(1, 9),
    passes=st.integers(1, 9),
    percent=st.floats(0, 100),
    overall_percent=st.floats(0, 100),
    fps=st.none() | st.floats(0, 10_000),
    avg_fps=st.none() | st.floats(0, 10_000),
    eta_seconds=st.none() | st.integers(0, 10**7),
)

jobs = st.builds(
    Job,
    id=st.text(min_size=1, max_size=8),
    source=st.text(max_size=300),  # any name a file system allows, and more
    library=st.text(max_size=40),
    preset=st.text(max_size=60),
    state=st.sampled_from(JobState),
    title=st.none() | st.integers(0, 99),
    node=st.none() | st.text(max_size=40),
    progress=st.none() | progress,
    created_at=st.floats(0, 2e9),
    started_at=st.none() | st.floats(0, 2e9),
    finished_at=st.none() | st.floats(0, 2e9),
    retries=st.integers(0, 999),
    reason=st.none() | st.text(max_size=300),
)


@settings(max_examples=400, deadline=None)
@given(job=jobs, width=st.integers(60, 260), now=st.floats(0, 2e9))
def test_a_row_is_one_line_of_exactly_the_width(job: Job, width: int, now: float) -> None:
    row = render_row(job, width, now, PALETTE)
    assert "\n" not in row.plain
    assert row.cell_len == width


@given(width=st.integers(60, 260))
def test_header_and_columns_fit(width: int) -> None:
    assert render_header(width, PALETTE).cell_len == width
    columns = layout(width)
    assert sum(w for _, w in columns) + len(columns) - 1 == width
    names = [column.name for column, _ in columns]
    for always in ("STATE", "NAME", "PROGRESS", "ETA"):
        assert always in names


@given(percent=st.floats(-50, 150), width=st.integers(1, 200))
def test_bar_is_always_its_width(percent: float, width: int) -> None:
    assert bar(percent, width).cell_len == width


@given(text=st.text())
def test_printable_is_one_line(text: str) -> None:
    shown = printable(text)
    assert len(shown) == len(text)
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F for ch in shown)


def test_a_narrow_tile_title_shortens_the_state_before_the_name() -> None:
    from ponyconsole.domain.models import Node
    from ponyconsole.ui.render_nodes import render_title

    def title(node: Node, busy: bool, width: int | None) -> str:
        return render_title(node, busy, {role: Style() for role in ROLES}, width).plain

    down = Node("applejack", ready=False)
    cordoned = Node("fluttershy", cordoned=True)
    ready = Node("twilight-sparkle")
    assert title(cordoned, True, None) == "fluttershy · cordoned, finishing"
    assert title(cordoned, True, 40) == "fluttershy · cordoned, finishing"
    assert title(cordoned, True, 21) == "fluttershy · cordoned"
    assert title(cordoned, True, 19) == "fluttershy cordoned"
    assert title(cordoned, True, 12) == "fluttershy ⊘"
    assert title(down, False, 20) == "applejack not ready"
    assert title(down, False, 11) == "applejack ✖"
    assert title(ready, False, 20) == "twilight-sparkle ●"
    assert title(ready, False, 10) == "twiligh… ●"
    for width in range(4, 40):
        for node, busy in ((down, False), (cordoned, True), (ready, True)):
            assert len(title(node, busy, width)) <= width


def test_a_rows_pieces_carry_each_cells_style() -> None:
    """The bar's filled cells, its empty ones and its label each have their role's style;
    the spaces after a word take its style when the next word's differs (SVG runs)."""
    palette = {role: Style(color=f"#0000{i:02x}") for i, role in enumerate(ROLES, 1)}
    running = Job(
        id="v1",
        source="/in/Up.mkv",
        library="movies",
        preset="Fast 1080p30",
        state=JobState.RUNNING,
        progress=Progress(ProgressState.WORKING, 1, 1, 50.0, 50.0, 30.0, 29.0, 60),
        started_at=0.0,
    )
    row = render_row(running, 160, 90.0, palette)
    chars = [(char, seg.style or None) for seg in row.render(Console()) for char in seg.text]
    plain = row.plain
    bar_start = plain.index("━")
    label = plain.index("50%")
    assert bar_start > plain.index("Fast 1080p30")
    assert chars[bar_start][1] == palette["accent"]  # filled
    assert chars[label - 2][1] == palette["accent"] + palette["bar-empty"]  # empty
    assert {s for _, s in chars[label : label + 3]} == {palette["accent"]}
    assert chars[plain.index("running")][1] == palette["accent"]
    after_up = plain.index("Up.mkv") + len("Up.mkv")  # unstyled name, dim library next
    assert {s for _, s in chars[after_up : plain.index("movies")]} == {None}
    after_preset = plain.index("1080p30") + len("1080p30")  # dim preset, accent bar next
    assert {s for _, s in chars[after_preset:bar_start]} == {palette["dim"]}


def test_a_very_wide_terminal_gives_the_room_names_leave_to_the_reason() -> None:
    reason = "0/6 nodes are available: 6 node(s) didn't match Pod's node selector."
    job = Job(id="v1", source="/in/Up.mkv", library="movies", preset="Fast 1080p30",
              state=JobState.PENDING, reason=reason)  # fmt: skip
    assert reason not in render_row(job, 200, 0.0, PALETTE).plain  # cut at 28 cells
    row = render_row(job, 260, 0.0, PALETTE)
    assert reason in row.plain and row.cell_len == 260
    widths = dict((column.name, w) for column, w in layout(260))
    assert widths["NAME"] >= 48 and widths["REASON"] > 28
