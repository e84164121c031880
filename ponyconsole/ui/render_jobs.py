"""Job rows for the queue: columns declared once as data, one function per cell.

As in k9s' render package, some columns are marked wide and drop out on a
narrow terminal, so one list serves both 80x24 and 200x60.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui.format import bar_pieces, fmt_duration, fmt_fps, truncate

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

# A row is built from pieces of text, each with its style (None: the row's own), not from
# Rich Text: a running row is drawn again every second, and Text's span bookkeeping made it
# the largest share of the console's CPU with six transcodes followed (~0.5 ms a row).
Piece = tuple[str, Style | None]


class CellText(NamedTuple):
    """One cell: its pieces, and the style its padding takes (the cell's own)."""

    pieces: list[Piece]
    style: Style | None = None


def _text(text: str, style: Style | None = None) -> CellText:
    return CellText([(text, style)], style)


Cell = Callable[[Job, float, Palette, int], CellText]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    width: int  # 0: takes the space left over
    cell: Cell
    wide: bool = False  # shown only on wide terminals
    narrow: bool = False  # shown only on narrow ones
    justify: str = "left"


def _state(job: Job, now: float, palette: Palette, width: int) -> CellText:
    if job.stalled and job.state is JobState.RUNNING:
        return _text("⚠ stalled", palette["warn"])
    return _text(f"{STATE_ICONS[job.state]} {job.state.value}", palette[STATE_ROLES[job.state]])


def _name(job: Job, now: float, palette: Palette, width: int) -> CellText:
    title = f" #{job.title}" if job.title is not None else ""
    return _text(truncate(job.name + title, width))


def _library(job: Job, now: float, palette: Palette, width: int) -> CellText:
    return _text(truncate(job.library.strip(), width), palette["dim"])


def _preset(job: Job, now: float, palette: Palette, width: int) -> CellText:
    return _text(truncate(job.preset.strip(), width), palette["dim"])


def _progress_or_reason(job: Job, now: float, palette: Palette, width: int) -> CellText:
    """On narrow terminals: the failure reason in place of the bar."""
    if job.state is JobState.FAILED and job.reason:
        return _text(truncate(job.reason, width), palette["bad"])
    if job.state is JobState.PENDING and job.reason:
        return _text(truncate(f"pending: {job.reason}", width), palette["warn"])
    return _progress(job, now, palette, width)


def _progress(job: Job, now: float, palette: Palette, width: int) -> CellText:
    if job.state is JobState.SUCCEEDED:
        percent = 100.0
    elif job.progress is not None:
        percent = job.progress.overall_percent
    else:
        percent = 0.0
    label = f"{percent:3.0f}%"
    fill = palette["ok" if job.state is JobState.SUCCEEDED else "accent"]
    pieces = bar_pieces(percent, max(1, width - len(label) - 1), fill, palette["bar-empty"])
    pieces.append((" " + label, fill))
    return CellText(pieces, fill)


def _pass(job: Job, now: float, palette: Palette, width: int) -> CellText:
    p = job.progress
    return _text(f"{p.pass_}/{p.passes}" if p and job.state is JobState.RUNNING else "")


def _fps(job: Job, now: float, palette: Palette, width: int) -> CellText:
    p = job.progress
    return _text(fmt_fps(p.fps) if p and job.state is JobState.RUNNING else "")


def _avg_fps(job: Job, now: float, palette: Palette, width: int) -> CellText:
    p = job.progress
    return _text(fmt_fps(p.avg_fps) if p and p.avg_fps is not None else "", palette["dim"])


def _eta(job: Job, now: float, palette: Palette, width: int) -> CellText:
    p = job.progress
    if job.state is not JobState.RUNNING or p is None:
        return _text("")
    return _text(fmt_duration(p.eta_seconds))


def _elapsed(job: Job, now: float, palette: Palette, width: int) -> CellText:
    return _text(fmt_duration(job.elapsed(now)) if job.started_at else "", palette["dim"])


def _retries(job: Job, now: float, palette: Palette, width: int) -> CellText:
    return _text(f"↻{job.retries}" if job.retries else "", palette["warn"])


def _node(job: Job, now: float, palette: Palette, width: int) -> CellText:
    return _text(truncate(job.node or "", width), palette["dim"])


def fmt_wh(wh: float) -> str:
    """Watt-hours in at most 5 cells: "0.42", "12.3", "1234"."""
    return f"{wh:.2f}" if wh < 10 else f"{wh:.1f}" if wh < 1000 else f"{wh:.0f}"


def _energy(job: Job, now: float, palette: Palette, width: int) -> CellText:
    return _text(fmt_wh(job.energy_wh) if job.energy_wh is not None else "", palette["dim"])


def _reason(job: Job, now: float, palette: Palette, width: int) -> CellText:
    if job.state is JobState.PENDING and job.reason:  # the scheduler's own words
        return _text(truncate(f"pending: {job.reason}", width), palette["warn"])
    role = "bad" if job.state is JobState.FAILED else "dim"
    return _text(truncate(job.reason or "", width), palette[role])


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
NAME_ENOUGH = 48  # on very wide terminals the REASON column takes what names leave over
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
    name_width = max(MIN_NAME_WIDTH, _flex(columns, width))
    reason_extra = 0
    if name_width > NAME_ENOUGH and any(c.name == "REASON" for c in columns):
        reason_extra, name_width = name_width - NAME_ENOUGH, NAME_ENOUGH

    def size(c: Column) -> int:
        if not c.width:
            return name_width
        return c.width + (reason_extra if c.name == "REASON" else 0)

    return tuple((c, size(c)) for c in columns)


def render_header(width: int, palette: Palette) -> Text:
    pieces: list[Piece] = []
    for i, (column, w) in enumerate(layout(width)):
        if i:
            pieces.append((" ", None))
        pieces.extend(_fit_pieces(_text(column.name), w, column.justify))
    fitted = _fit_pieces(CellText(pieces, None), width, "left")
    return Text("".join(text for text, _ in fitted), style=palette["header"])


def _cells(pieces: list[Piece]) -> int:
    return sum(cell_len(text) for text, _ in pieces)


def _cut(pieces: list[Piece], room: int) -> list[Piece]:
    """The first ``room`` cells, then "…" in the style of the first cell that did not fit."""
    kept: list[Piece] = []
    for text, style in pieces:
        size = cell_len(text)
        if size <= room:
            kept.append((text, style))
            room -= size
            continue
        if room:
            kept.append((set_cell_size(text, room), style))
        kept.append(("…", style))
        break
    return kept


def _fit_pieces(cell: CellText, width: int, justify: str) -> list[Piece]:
    """The cell in exactly ``width`` cells: cut with "…", padded with spaces (on the left
    when right-justified; else in the cell's own style)."""
    pieces = cell.pieces
    size = _cells(pieces)
    if size > width:
        return _cut(pieces, width - 1) if width > 0 else []
    if size < width:
        if justify == "right":
            return [(" " * (width - size), None), *pieces]
        return [*pieces, (" " * (width - size), cell.style)]
    return list(pieces)


def _lstrip(cell: CellText) -> CellText:
    """Without leading spaces (a name's leading spaces say nothing in a column)."""
    pieces = list(cell.pieces)
    while pieces and not pieces[0][0].lstrip(" "):
        pieces.pop(0)
    if pieces:
        text, style = pieces[0]
        pieces[0] = (text.lstrip(" "), style)
    return CellText(pieces, cell.style)


def _trail_spaces(pieces: list[Piece]) -> list[Piece]:
    """Spaces between two differently styled words take the style of the word before.

    Looks the same on a terminal; in an SVG export the spaces then end the run before
    instead of starting the next one, and rsvg (which drops a run's leading spaces)
    no longer runs "35.5" and "18m50s" together.
    """
    out: list[Piece] = []
    run: list[Piece] = []  # spaces waiting for the next word
    before: Style | None = None  # the style of the last word
    seen_word = False
    for text, style in pieces:
        if not text:
            continue
        if not text.strip(" "):
            run.append((text, style))
            continue
        lead = len(text) - len(text.lstrip(" "))
        if lead:
            run.append((text[:lead], style))
            text = text[lead:]
        if run:
            if seen_word and before != style:
                run = [(t, before if s is None else s + before) for t, s in run]  # type: ignore[operator]
            out.extend(run)
            run = []
        body = text.rstrip(" ")
        out.append((body, style))
        if len(body) < len(text):
            run.append((text[len(body) :], style))
        before, seen_word = style, True
    out.extend(run)
    return out


def row_pieces(job: Job, width: int, now: float, palette: Palette) -> list[Piece]:
    """One row as styled pieces of exactly ``width`` cells, whatever the job holds."""
    pieces: list[Piece] = []
    for i, (column, w) in enumerate(layout(width)):
        if i:
            pieces.append((" ", None))
        cell = column.cell(job, now, palette, w)
        if column.justify == "left":
            cell = _lstrip(cell)
        pieces.extend(_fit_pieces(cell, w, column.justify))
    pieces = _fit_pieces(CellText(pieces, None), width, "left")
    return _merge(_trail_spaces(pieces))


def _merge(pieces: list[Piece]) -> list[Piece]:
    """Neighbours with one style made one piece (fewer segments to draw)."""
    out: list[Piece] = []
    for text, style in pieces:
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        elif text:
            out.append((text, style))
    return out


def render_row(job: Job, width: int, now: float, palette: Palette) -> Text:
    """One line of exactly `width` cells, whatever the job holds (``row_pieces`` as Text)."""
    return Text.assemble(
        *((t, s) if s is not None else t for t, s in row_pieces(job, width, now, palette))
    )


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
