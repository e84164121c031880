"""Two lines under the queue about the selected job: where it comes from, why it failed."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui import palette
from ponyconsole.ui.format import printable
from ponyconsole.ui.widgets.roles import CachedRoles


def _shown(job: Job | None) -> tuple[object, ...] | None:
    """The fields the two lines show: a progress update of the selected job changes none."""
    if job is None:
        return None
    return (job.source, job.library, job.preset, job.state, job.reason, job.output)


class JobSummary(CachedRoles, Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    inbox: reactive[str] = reactive("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._job: Job | None = None

    @property
    def job(self) -> Job | None:
        return self._job

    @job.setter
    def job(self, job: Job | None) -> None:
        """Repaint only when what the summary shows changed (the cursor sits on a running
        job by default, and its progress arrives each second)."""
        before = _shown(self._job)
        self._job = job
        if _shown(job) != before:
            self.refresh()

    def render(self) -> Group:
        roles = self.roles
        job = self.job
        if job is None:
            where = f"Copy rips into {printable(self.inbox)}/<library>/, then" if self.inbox else ""
            hint = f"{where} press e to enqueue one." if where else "Press e to enqueue a rip."
            return Group(
                Text("No job selected.", style=roles["dim"]), Text(hint, style=roles["dim"])
            )
        first = Text(printable(job.source) + "  ", style=roles["label"])
        first.append(f"→ {job.library} · {job.preset}", style=roles["dim"])
        if job.state is JobState.FAILED:
            second = Text(f"failed: {job.reason or 'no reason recorded'}  ", style=roles["bad"])
            second.append("r retries", style=roles["dim"])
        elif job.reason and job.state is JobState.INTERRUPTED:
            second = Text(job.reason, style=roles["warn"])
        elif job.reason:
            second = Text(f"last time: {job.reason}", style=roles["dim"])
        elif job.output:
            second = Text(f"output: {job.output}", style=roles["dim"])
        else:
            second = Text("enter shows the HandBrake command and its output", style=roles["dim"])
        for line in (first, second):
            line.no_wrap = True
            line.overflow = "ellipsis"
        return Group(first, second)
