"""A job opened: everything known about it, its HandBrake command and last output."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

from ponyconsole.backends.protocol import Backend, BackendError
from ponyconsole.domain.models import Job, JobState
from ponyconsole.domain.naming import shown
from ponyconsole.ui.format import fmt_duration, fmt_fps


def describe(job: Job, now: float) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", justify="right")
    table.add_column(overflow="fold")
    p = job.progress
    rows: list[tuple[str, str]] = [
        ("source", job.source),
        ("library", job.library),
        ("preset", job.preset),
        ("title", "main feature" if job.title is None else str(job.title)),
        ("state", job.state.value + (f" on {job.node}" if job.node else "")),
        ("output", job.output or "-"),
        ("retries", str(job.retries)),
        ("elapsed", fmt_duration(job.elapsed(now))),
    ]
    if p is not None:
        rows.append(
            (
                "progress",
                f"{p.overall_percent:.1f}% (pass {p.pass_}/{p.passes} at {p.percent:.1f}%), "
                f"{fmt_fps(p.fps)} fps, avg {fmt_fps(p.avg_fps)}, "
                f"ETA {fmt_duration(p.eta_seconds)}",
            )
        )
    if job.reason:
        rows.append(("reason", job.reason))
    for key, value in rows:
        table.add_row(key, Text(shown(value)))  # a source name may hold bytes that are not UTF-8
    return table


class JobDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, backend: Backend, job: Job, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.backend = backend
        self.job = job
        self.clock = clock
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.job.name, style="bold"), id="detail-title")
            yield Static(describe(self.job, self.clock()), id="detail-fields")
            yield Static("HandBrake command", classes="section")
            yield Static(Text(shown(shlex.join(self.job.command)) or "-"), id="detail-command")
            yield Static("Last output", classes="section")
            yield Log(id="detail-log", max_lines=500, auto_scroll=True)

    def on_mount(self) -> None:
        self.load()
        # A running job's output moves: follow it while the screen is open.
        self.set_interval(1.0, self._refresh_running)

    def _refresh_running(self) -> None:
        if self.job.state is JobState.RUNNING:
            self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        log = self.query_one(Log)
        try:
            detail = await self.backend.job_detail(self.job.id)
        except BackendError as error:
            log.write_line(f"could not read the job: {error}")
            return
        self.job = detail.job
        self.query_one("#detail-fields", Static).update(describe(detail.job, self.clock()))
        self.query_one("#detail-command", Static).update(
            Text(shown(shlex.join(detail.job.command)) or "-")
        )
        lines = list(detail.log_tail or ("(no output yet)",))
        if lines != self._shown:
            self._shown = lines
            log.clear()
            log.write_lines(lines)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
