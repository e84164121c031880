"""A cluster pony's tile: what Kubernetes says of the node, and every item on it.

A ``PonyTile`` (same title, border states and metrics) whose body lists the
node's requests against allocatable, its roles, kubelet and age, the agent's
figures when there is one, and then as many items as fit, each with its stage
and the transcode's bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from ponyconsole.domain.models import Job, JobState
from ponyconsole.ui import palette
from ponyconsole.ui.render_nodes import render_agent_lines, render_agent_problem
from ponyconsole.ui.render_pods import facts_text, render_item_lines, requests_text
from ponyconsole.ui.widgets.pony_tile import PonyTile


class KubeTile(PonyTile):
    """Drawn with the line API like ``PonyTile``: its lines are built once per change."""

    COMPONENT_CLASSES = palette.COMPONENT_CLASSES
    jobs: reactive[tuple[Job, ...]] = reactive((), layout=False)
    _kube_lines: list[Text] | None = None
    _kube_width = 0

    clock: Callable[[], float] = time.time
    ROWS, ROWS_COMPACT = 6, 3  # content lines (styles/app.tcss: KubeTile height 8 / 5)

    def watch_jobs(self, jobs: tuple[Job, ...]) -> None:
        self.job = next((j for j in jobs if j.state is JobState.RUNNING), None)
        self._kube_lines = None
        self.refresh()

    def watch_node(self, node: object) -> None:
        super().watch_node(node)  # type: ignore[arg-type]
        self._kube_lines = None
        self.refresh()

    def watch_compact(self) -> None:
        super().watch_compact()
        self._kube_lines = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.ROWS_COMPACT if self.compact else self.ROWS

    def render_line(self, y: int) -> Strip:
        width = self._width()
        if self._kube_lines is None or self._kube_width != width:
            self._kube_lines = self._render_lines(width)
            self._kube_width = width
        text = self._kube_lines[y] if y < len(self._kube_lines) else Text()
        return self._strip(text.copy(), self.content_size.width)

    def _render_lines(self, width: int) -> list[Text]:
        roles = self.roles
        # A grid row is as tall as its tiles' content: always render the full height.
        rows = self.ROWS_COMPACT if self.compact else self.ROWS
        node = self.node
        head: dict[str, Text] = {}
        if node is not None:
            if node.allocatable_cpu_milli is not None or node.allocatable_memory is not None:
                head["requests"] = requests_text(node, roles, width)
            head["facts"] = facts_text(node, self.clock(), width, roles)
            stale = node.agent_problem is not None and node.metrics is not None
            if node.metrics is not None:
                figures = render_agent_lines(
                    node.metrics, self.cpu_history, self.watt_history, width, roles, stale
                )
                head["cpu"], head["swap"] = figures[0], figures[1]
            if stale and node.agent_problem:  # it says more than roles and age
                head["facts"] = render_agent_problem(node.agent_problem, stale, roles)
        # Items get the room they need (at least one line, leaving two for the node);
        # the node's lines fill the rest, most telling first.
        item_rows = max(1, min(len(self.jobs) or 1, rows - 2))
        order = ("requests", "cpu", "facts", "swap")
        if node is not None and node.agent_problem and node.metrics is not None:
            order = ("facts", "requests", "cpu", "swap")  # stale figures: say so first
        keep = [k for k in order if k in head]
        keep = keep[: max(0, rows - item_rows)]
        lines = [head[k] for k in ("requests", "facts", "cpu", "swap") if k in keep]
        lines.extend(render_item_lines(self.jobs, width, max(1, rows - len(lines)), roles))
        lines.extend(Text() for _ in range(rows - len(lines)))
        return lines
