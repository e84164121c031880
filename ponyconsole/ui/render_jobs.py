"""Job rows for the queue: columns declared once as data, one function per cell.

As in k9s' render package, some columns are marked wide and drop out on a
narrow terminal, so one list serves both 80x24 and 200x60.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rich.style import Style
from rich.text import Text

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui.format import bar, fmt_duration, fmt_fps, spaces_trail, truncate

Palette = Mapping[str, Style]

STATE_ICONS: dict[JobState, str] = {
    JobState.QUEUED: "…",
    JobState.PENDING: "○",
    JobState.RUNNING: "▶",
    JobState.SUCCEEDED: "✔",
    JobState.FAILED: "✖",
    JobState.CANCELLED: "⊘",
    JobState.INTERRUPTED: "↯",
}

STATE_ROLES: dict[JobState, str] = {
    JobState.QUEUED: "dim",
    JobState.PENDING: "warn",
    JobState.RUNNING: "accent",
    JobState.SUCCEEDED: "ok",
    JobState.FAILED: "bad",
    JobState.CANCELLED: "dim",
    JobState.INTERRUPTED: "warn",
}

# Where a queue is sorted: what needs eyes first.
STATE_ORDER: dict[JobState, int] = {
    JobState.RUNNING: 0,
    JobState.FAILED: 1,
    JobState.PENDING: 2,
    JobState.INTERRUPTED: 3,
    JobState.QUEUED: 4,
    JobState.CANCELLED: 5,
    JobState.SUCCEEDED: 6,
}

Cell = Callable[[Job, float, Palette, int], Text]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    width: int  # 0: takes the space left over
    cell: Cell
    wide: bool = False  # shown only on wide terminals
    narrow: bool = False  # shown only on narrow ones
    justify: str = "left"


def _state(job: Job, now: float, palette: Palette, width: int) -> Text:
    if job.stalled and job.state is JobState.RUNNING:
        return Text("⚠ stalled", style=palette["warn"])
    return Text(
        f"{STATE_ICONS[job.state]} {job.state.value}", style=palette[STATE_ROLES[job.state]]
    )


def _name(job: Job, now: float, palette: Palette, width: int) -> Text:
    title = f" #{job.title}" if job.title is not None else ""
    return Text(truncate(job.name + title, width))


def _library(job: Job, now: float, palette: Palette, width: int) -> Text:
    return Text(truncate(job.library.strip(), width), style=palette["dim"])


def _preset(job: Job, now: float, palette: Palette, width: int) -> Text:
    return Text(truncate(job.preset.strip(), width), style=palette["dim"])


def _progress_or_reason(job: Job, now: float, palette: Palette, width: int) -> Text:
    """On narrow terminals: the failure reason in place of the bar."""
    if job.state is JobState.FAILED and job.reason:
        return Text(truncate(job.reason, width), style=palette["bad"])
    if job.state is JobState.PENDING and job.reason:
        return Text(truncate(f"pending: {job.reason}", width), style=palette["warn"])
    return _progress(job, now, palette, width)


def _progress(job: Job, now: float, palette: Palette, width: int) -> Text:
    if job.state is JobState.SUCCEEDED:
        percent = 100.0
    elif job.progress is not None:
        percent = job.progress.overall_percent
    else:
        percent = 0.0
    label = f"{percent:3.0f}%"
    role = "ok" if job.state is JobState.SUCCEEDED else "accent"
    text = bar(percent, max(1, width - len(label) - 1), palette[role], palette["bar-empty"])
    text.append(" " + label)
    return text


def _pass(job: Job, now: float, palette: Palette, width: int) -> Text:
    p = job.progress
    return Text(f"{p.pass_}/{p.passes}" if p and job.state is JobState.RUNNING else "")


def _fps(job: Job, now: float, palette: Palette, width: int) -> Text:
    p = job.progress
    return Text(fmt_fps(p.fps) if p and job.state is JobState.RUNNING else "")


def _avg_fps(job: Job, now: float, palette: Palette, width: int) -> Text:
    p = job.progress
    return Text(fmt_fps(p.avg_fps) if p and p.avg_fps is not None else "", style=palette["dim"])


def _eta(job: Job, now: float, palette: Palette, width: int) -> Text:
    p = job.progress
    if job.state is not JobState.RUNNING or p is None:
        return Text("")
    return Text(fmt_duration(p.eta_seconds))


def _elapsed(job: Job, now: float, palette: Palette, width: int) -> Text:
    return Text(fmt_duration(job.elapsed(now)) if job.started_at else "", style=palette["dim"])


def _retries(job: Job, now: float, palette: Palette, width: int) -> Text:
    return Text(f"↻{job.retries}" if job.retries else "", style=palette["warn"])


def _node(job: Job, now: float, palette: Palette, width: int) -> Text:
    return Text(truncate(job.node or "", width), style=palette["dim"])


def fmt_wh(wh: float) -> str:
    """Watt-hours in at most 5 cells: "0.42", "12.3", "1234"."""
    return f"{wh:.2f}" if wh < 10 else f"{wh:.1f}" if wh < 1000 else f"{wh:.0f}"


def _energy(job: Job, now: float, palette: Palette, width: int) -> Text:
    return Text(fmt_wh(job.energy_wh) if job.energy_wh is not None else "", style=palette["dim"])


def _reason(job: Job, now: float, palette: Palette, width: int) -> Text:
    if job.state is JobState.PENDING and job.reason:  # the scheduler's own words
        return Text(truncate(f"pending: {job.reason}", width), style=palette["warn"])
    role = "bad" if job.state is JobState.FAILED else "dim"
    return Text(truncate(job.reason or "", width), style=palette[role])


COLUMNS: tuple[Column, ...] = (
    Column("STATE", 14, _state),
    Column("NAME", 0, _name),
    Column("LIBRARY", 9, _library, wide=True),
    Column("PRESET", 18, _preset, wide=True),
    Column("PROGRESS", 20, _progress_or_reason, narrow=True),
    Column("PROGRESS", 20, _progress, wide=True),
    Column("PASS", 4, _pass),
    Column("FPS", 5, _fps, justify="right"),
    Column("AVG", 5, _avg_fps, wide=True, justify="right"),
    Column("ETA", 6, _eta, justify="right"),
    Column("ELAPSED", 7, _elapsed, wide=True, justify="right"),
    Column("RETRY", 5, _retries),
    Column("NODE", 16, _node, wide=True),
    Column("Wh", 5, _energy, wide=True, justify="right"),
    Column("REASON", 28, _reason, wide=True),
)

MIN_NAME_WIDTH = 14
COMFORTABLE_NAME_WIDTH = 30  # wide columns show only while names keep this much room
WIDE_FROM = 110  # below this, not even the first wide column is tried
# What goes first when even the narrow set does not fit (under ~76 columns).
NARROW_DROP = ("RETRY", "PASS", "FPS")
# Which wide columns to add first when there is room.
WIDE_PRIORITY = ("PROGRESS", "LIBRARY", "ELAPSED", "AVG", "NODE", "PRESET", "REASON", "Wh")


def _flex(columns: list[Column], width: int) -> int:
    return width - sum(c.width for c in columns) - (len(columns) - 1)


@lru_cache(maxsize=16)
def layout(width: int) -> tuple[tuple[Column, int], ...]:
    """The columns that fit in `width`, each with its width (the flex one gets the rest)."""
    chosen = {id(c) for c in COLUMNS if not c.wide}
    if width >= WIDE_FROM:
        chosen = {id(c) for c in COLUMNS if not c.wide and not c.narrow}
        for name in WIDE_PRIORITY:
            extra = next(c for c in COLUMNS if c.wide and c.name == name)
            trial = [c for c in COLUMNS if id(c) in chosen | {id(extra)}]
            if _flex(trial, width) >= COMFORTABLE_NAME_WIDTH:
                chosen.add(id(extra))
        if not any(c.name == "REASON" and id(c) in chosen for c in COLUMNS):
            # no room for reasons: keep them in the progress column instead
            chosen = {id(c) for c in COLUMNS if id(c) in chosen and c.name != "PROGRESS"}
            chosen |= {id(c) for c in COLUMNS if c.narrow}
    columns = [c for c in COLUMNS if id(c) in chosen]
    for name in NARROW_DROP:  # a very narrow terminal: keep what says most
        if _flex(columns, width) >= MIN_NAME_WIDTH:
            break
        columns = [c for c in columns if c.name != name]
    return tuple((c, c.width or max(MIN_NAME_WIDTH, _flex(columns, width))) for c in columns)


def _fit(text: Text, width: int, justify: str) -> Text:
    text.truncate(width, overflow="ellipsis")
    pad = width - text.cell_len
    if pad > 0:
        if justify == "right":
            text = Text(" " * pad) + text
        else:
            text.append(" " * pad)
    return text


def render_header(width: int, palette: Palette) -> Text:
    row = Text(style=palette["header"])
    for i, (column, w) in enumerate(layout(width)):
        if i:
            row.append(" ")
        row.append_text(_fit(Text(column.name), w, column.justify))
    return _fit(row, width, "left")


def render_row(job: Job, width: int, now: float, palette: Palette) -> Text:
    """One line of exactly `width` cells, whatever the job holds."""
    row = Text()
    for i, (column, w) in enumerate(layout(width)):
        if i:
            row.append(" ")
        cell = column.cell(job, now, palette, w)
        lead = len(cell.plain) - len(cell.plain.lstrip(" "))
        if lead and column.justify == "left":  # a name's leading spaces say nothing here
            cell = cell[lead:]
        row.append_text(_fit(cell, w, column.justify))
    return spaces_trail(_fit(row, width, "left"))


def sort_key(job: Job) -> tuple[int, float, str, str]:
    """By state, then age; items made in the same second (the API's timestamps are whole
    seconds) by name, so the order never depends on which event came first."""
    return (STATE_ORDER[job.state], job.created_at, job.name, job.id)


def matches(job: Job, query: str) -> bool:
    """Case-insensitive filter over what the user sees in a row."""
    if not query:
        return True
    haystack = " ".join(
        (job.name, job.library, job.preset, job.state.value, job.node or "", job.reason or "")
    ).lower()
    return all(term in haystack for term in query.lower().split())
