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
    if job.energy_wh is not None:
        drawn = f" drawn by {job.node} while it ran" if job.node else ""
        rows.append(("energy", f"{job.energy_wh:.2f} Wh{drawn}"))
    if p is not None:
        rows.append(
            (
                "progress",
                f"{p.overall_percent:.1f}% (pass {p.pass_}/{p.passes} at {p.percent:.1f}%), "
                f"{fmt_fps(p.fps)} fps, avg {fmt_fps(p.avg_fps)}, "
                f"ETA {fmt_duration(p.eta_seconds)}",
            )
        )
    if job.kube_name:
        rows.append(("job", f"{job.namespace}/{job.kube_name}" if job.namespace else job.kube_name))
    if job.state is JobState.RUNNING and job.stalled:
        rows.append(("stalled", "progress has not moved for the stall time"))
    if job.reason:
        label = "scheduler" if job.state is JobState.PENDING else "reason"
        rows.append((label, job.reason))
    for key, value in rows:
        table.add_row(key, Text(shown(value)))  # a source name may hold bytes that are not UTF-8
    return table


def describe_stages(job: Job) -> Table | Text:
    """The item's Jobs in the cluster: kind, state, Job name, node, reason."""
    if not job.stages:
        return Text("-")
    table = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, header_style="bold")
    widths = {
        "STAGE": max(len(s.kind.value) for s in job.stages),
        "STATE": max(len(s.state.value) for s in job.stages),
        "JOB": max(len(s.kube_name or "-") for s in job.stages),
        "NODE": max(len(s.node or "-") for s in job.stages),
    }
    for column, width in widths.items():
        table.add_column(column, no_wrap=True, min_width=max(width, len(column)))
    # the reason in full is above; here one line of it, in the room left
    table.add_column("REASON", no_wrap=True, overflow="ellipsis", max_width=48)
    for stage in job.stages:
        table.add_row(
            stage.kind.value,
            stage.state.value,
            Text(stage.kube_name or "-"),
            Text(stage.node or "-"),
            Text(stage.reason or ""),
        )
    return table


class JobDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, backend: Backend, job: Job, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.backend = backend
        self.job = job
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.job.name, style="bold"), id="detail-title")
            yield Static(describe(self.job, self.clock()), id="detail-fields")
            if self.job.stages:
                yield Static("Jobs in the cluster", classes="section")
                yield Static(describe_stages(self.job), id="detail-stages")
            else:
                yield Static("HandBrake command", classes="section")
                yield Static(Text(shown(shlex.join(self.job.command)) or "-"), id="detail-command")
            yield Static("Last output", classes="section")
            yield Log(id="detail-log", max_lines=500, auto_scroll=True)

    def on_mount(self) -> None:
        self.load()
        self.follow()
        # The fields come from the app's live view (no I/O): refresh them each second.
        self.set_interval(1.0, self._refresh_fields)

    def _refresh_fields(self) -> None:
        jobs = getattr(self.app, "job_list", None)
        live = jobs.jobs.get(self.job.id) if jobs is not None else None
        if live is not None and (live != self.job or live.state is JobState.RUNNING):
            self.job = live
            self.query_one("#detail-fields", Static).update(describe(live, self.clock()))
            for stages in self.query("#detail-stages").results(Static):
                stages.update(describe_stages(live))

    @work(exclusive=True, group="detail")
    async def load(self) -> None:
        try:
            detail = await self.backend.job_detail(self.job.id)
        except BackendError as error:
            self.query_one(Log).write_line(f"could not read the job: {error}")
            return
        self.job = detail.job
        self.query_one("#detail-fields", Static).update(describe(detail.job, self.clock()))
        for command in self.query("#detail-command").results(Static):
            command.update(Text(shown(shlex.join(detail.job.command)) or "-"))
        for stages in self.query("#detail-stages").results(Static):
            stages.update(describe_stages(detail.job))

    @work(exclusive=True, group="follow", exit_on_error=False)
    async def follow(self) -> None:
        """The backend's log stream: last lines first, new ones as they come."""
        log = self.query_one(Log)
        empty = True
        try:
            async for line in self.backend.follow_log(self.job.id):
                log.write_line(line)
                empty = False
        except BackendError as error:
            log.write_line(f"(the output cannot be read: {error})")
            return
        if empty:
            log.write_line("(no output yet)")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
