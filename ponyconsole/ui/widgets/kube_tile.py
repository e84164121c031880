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

from ponyconsole.domain.models import Job, JobState, Node
from ponyconsole.ui import palette
from ponyconsole.ui.render_nodes import render_agent_lines, render_agent_problem
from ponyconsole.ui.render_pods import facts_text, render_item_lines, requests_text
from ponyconsole.ui.widgets.pony_tile import PonyTile


class KubeTile(PonyTile):
    """Drawn with the line API like ``PonyTile``: one cached strip per content line.

    A change (an item's progress, the node) builds the lines again and repaints only
    those that differ: a progress update repaints its item's line, not the bordered
    tile. Measured with six transcodes followed, whole-tile repaints were the larger
    part of the console's CPU.
    """

    COMPONENT_CLASSES = palette.COMPONENT_CLASSES
    jobs: reactive[tuple[Job, ...]] = reactive((), layout=False, repaint=False)
    _kube_lines: list[Text] | None = None
    _kube_width = 0

    clock: Callable[[], float] = time.time
    ROWS, ROWS_COMPACT = 6, 3  # content lines (styles/app.tcss: KubeTile height 8 / 5)

    def watch_jobs(self, jobs: tuple[Job, ...]) -> None:
        self.job = next((j for j in jobs if j.state is JobState.RUNNING), None)
        self._repaint_changed()

    def watch_job(self, job: Job | None) -> None:
        # the title and the busy class only: the item lines are this tile's own
        self.set_class(job is not None, "-busy")
        self._update_title()

    def watch_node(self, node: Node | None) -> None:
        self._take_node(node)  # the lines that changed repaint, not PonyTile's figure lines
        self._repaint_changed()

    def watch_compact(self) -> None:
        super().watch_compact()
        self._kube_lines = None

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._kube_lines = None  # colours come from the styles

    def on_resize(self) -> None:
        super().on_resize()
        self._kube_lines = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.ROWS_COMPACT if self.compact else self.ROWS

    def _repaint_changed(self) -> None:
        """Build the lines again; repaint the ones that differ (all when none were drawn)."""
        old = self._kube_lines
        if old is None or not self.is_mounted or self._kube_width != self._width():
            self._kube_lines = None
            self.refresh()
            return
        new = self._render_lines(self._kube_width)
        self._kube_lines = new
        for y, text in enumerate(new):
            if y >= len(old) or old[y] != text:
                self._forget(y)
                self._refresh_lines(y, 1)

    def render_line(self, y: int) -> Strip:
        width = self._width()
        if self._kube_lines is None or self._kube_width != width:
            self._kube_lines = self._render_lines(width)
            self._kube_width = width
            self._forget()
        strip = self._strips.get(y)
        if strip is None:
            text = self._kube_lines[y] if y < len(self._kube_lines) else Text()
            strip = self._strips[y] = self._strip(text.copy(), self.content_size.width)
        return strip

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
