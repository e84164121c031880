"""Two lines under the queue about the selected job: where it comes from, why it failed."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui import palette
from ponyconsole.ui.format import printable


class JobSummary(Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    job: reactive[Job | None] = reactive(None)
    inbox: reactive[str] = reactive("")

    def render(self) -> Group:
        roles = palette.palette_of(self)
        job = self.job
        if job is None:
            where = f"Copy rips into {printable(self.inbox)}/<library>/, then" if self.inbox else ""
            hint = f"{where} press e to enqueue one." if where else "Press e to enqueue a rip."
            return Group(
                Text("No job selected.", style=roles["dim"]), Text(hint, style=roles["dim"])
            )
        first = Text(printable(job.source), style=roles["label"])
        first.append(f"  → {job.library} · {job.preset}", style=roles["dim"])
        if job.state is JobState.FAILED:
            second = Text(f"failed: {job.reason or 'no reason recorded'}", style=roles["bad"])
            second.append("  r retries", style=roles["dim"])
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
