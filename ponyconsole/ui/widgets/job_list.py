"""The queue, drawn with the line API: only visible rows are rendered, each cached.

A progress update repaints one line; a 3,000-job queue costs what its
visible rows cost (see DESIGN.md, "Performance, measured").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui import palette
from ponyconsole.ui.render_jobs import matches, render_header, row_pieces, sort_key
from ponyconsole.ui.widgets.cursor_rows import CursorRows
from ponyconsole.ui.widgets.roles import CachedRoles


@lru_cache(maxsize=256)
def _on_row(row: Style, piece: Style) -> Style:
    """A piece's style on the row's (its background wins: the cursor's shows through)."""
    return row + piece + Style(bgcolor=row.bgcolor)


class JobHeader(CachedRoles, Widget):
    """The column names, aligned with the rows below."""

    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    def render(self) -> object:
        return render_header(self.content_size.width, self.roles)


class JobList(CursorRows, CachedRoles, ScrollView, can_focus=True):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"joblist--cursor"}

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Bottom", show=False),
        Binding("enter", "open", "Details", show=False),
    ]

    query_text: reactive[str] = reactive("")
    cursor: reactive[int] = reactive(0)

    @dataclass
    class Highlighted(Message):
        job: Job | None

    @dataclass
    class Opened(Message):
        job: Job

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self._jobs: dict[str, Job] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._aged: dict[str, float] = {}  # running job id -> when its row was last drawn

    # --- data in -------------------------------------------------------------------

    @property
    def jobs(self) -> dict[str, Job]:
        return self._jobs

    @property
    def visible_jobs(self) -> list[Job]:
        return [self._jobs[job_id] for job_id in self._order]

    @property
    def selected(self) -> Job | None:
        if 0 <= self.cursor < len(self._order):
            return self._jobs[self._order[self.cursor]]
        return None

    def set_jobs(self, jobs: list[Job] | tuple[Job, ...]) -> None:
        self._jobs = {job.id: job for job in jobs}
        self._reorder()

    def upsert(self, job: Job) -> None:
        old = self._jobs.get(job.id)
        self._jobs[job.id] = job
        row = self._index.get(job.id)
        if (
            old is not None
            and row is not None
            and sort_key(old) == sort_key(job)
            and matches(job, self.query_text)
        ):
            self.refresh_line(row)  # the common case: progress moved, nothing else
            if row == self.cursor:
                self.post_message(self.Highlighted(job))
        else:
            self._reorder()

    def remove(self, job_id: str) -> None:
        if self._jobs.pop(job_id, None) is not None:
            self._reorder()

    def _reorder(self) -> None:
        jobs = sorted((j for j in self._jobs.values() if matches(j, self.query_text)), key=sort_key)
        self._place([job.id for job in jobs])
        self.post_message(self.Highlighted(self.selected))

    def watch_query_text(self) -> None:
        self._reorder()

    # --- rendering -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if row >= len(self._order):
            return Strip.blank(width, self.base_style)
        job = self._jobs[self._order[row]]
        selected = row == self.cursor
        now = self.clock()
        # Running rows show elapsed time: let them age once a second, the rest never.
        tick = int(now) if job.state is JobState.RUNNING else 0
        key = (job, width, selected, self.has_focus, tick)
        strip = self._cache.get(key)
        if strip is None:
            if tick:
                self._aged[job.id] = now
            style = self.base_style
            if selected:
                cursor = self.get_component_rich_style("joblist--cursor", partial=True)
                style += Style(bgcolor=cursor.bgcolor, bold=True)
            segments = [
                Segment(text, _on_row(style, piece_style) if piece_style else style)
                for text, piece_style in row_pieces(job, width, now, self.roles)
            ]
            strip = Strip(segments, width)
            self._cache[key] = strip
        return strip

    def refresh_running(self) -> None:
        """Repaint the visible running rows whose elapsed time is a second old or more.

        A progress update (about one a second) repaints its row anyway; ticking those rows
        again would double the screen updates of an encode for nothing.
        """
        top = self.scroll_offset.y
        now = self.clock()
        if len(self._aged) > 64:  # forget finished jobs
            self._aged = {k: v for k, v in self._aged.items() if k in self._jobs}
        for row in range(top, min(len(self._order), top + self.size.height)):
            job = self._jobs[self._order[row]]
            if job.state is JobState.RUNNING and now - self._aged.get(job.id, 0.0) >= 1.0:
                self.refresh_line(row)

    # --- keys and mouse --------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self._order) - 1

    def action_open(self) -> None:
        job = self.selected
        if job is not None:
            self.post_message(self.Opened(job))

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if row < len(self._order):
            if row == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = row
