"""A cluster pony's tile: what Kubernetes says of the node, and every item on it.

A ``PonyTile`` (same title, border states and metrics) whose body lists the
node's requests against allocatable, its roles, kubelet and age, the agent's
figures when there is one, and then as many items as fit, each with its stage
and the transcode's bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui import palette
from ponyconsole.ui.render_nodes import render_metrics
from ponyconsole.ui.render_pods import facts_text, render_item_lines, requests_text
from ponyconsole.ui.widgets.pony_tile import PonyTile


class KubeTile(PonyTile):
    jobs: reactive[tuple[Job, ...]] = reactive((), layout=False)

    clock: Callable[[], float] = time.time
    ROWS, ROWS_COMPACT = 6, 3  # content lines (styles/app.tcss: KubeTile height 8 / 5)

    def watch_jobs(self, jobs: tuple[Job, ...]) -> None:
        self.job = next((j for j in jobs if j.state is JobState.RUNNING), None)

    def render(self) -> Group:
        roles = palette.palette_of(self)
        width = max(10, self.content_size.width)
        # A grid row is as tall as its tiles' content: always render the full height.
        rows = self.ROWS_COMPACT if self.compact else self.ROWS
        node = self.node
        head: dict[str, Text] = {}
        if node is not None:
            if node.allocatable_cpu_milli is not None or node.allocatable_memory is not None:
                head["requests"] = requests_text(node, roles, width)
            head["facts"] = facts_text(node, self.clock(), width, roles)
            if node.metrics is not None:
                figures = render_metrics(
                    node.metrics, self.cpu_history, self.watt_history, width, roles, compact=True
                )
                head["cpu"], head["swap"] = figures[0], figures[1]
        # Items get the room they need (at least one line, leaving two for the node);
        # the node's lines fill the rest, most telling first.
        item_rows = max(1, min(len(self.jobs) or 1, rows - 2))
        keep = [k for k in ("requests", "cpu", "facts", "swap") if k in head]
        keep = keep[: max(0, rows - item_rows)]
        lines = [head[k] for k in ("requests", "facts", "cpu", "swap") if k in keep]
        lines.extend(render_item_lines(self.jobs, width, max(1, rows - len(lines)), roles))
        lines.extend(Text() for _ in range(rows - len(lines)))
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
        return Group(*lines)
