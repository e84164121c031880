"""One pony: health at a glance, the job it encodes, and short history."""

from __future__ import annotations

from collections import deque

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget

from ponyconsole.domain.models import Job, Node
from ponyconsole.ui import palette
from ponyconsole.ui.render_nodes import (
    job_line_key,
    node_status,
    render_job_line,
    render_metrics,
    render_title,
)
from ponyconsole.ui.widgets.roles import CachedRoles

HISTORY = 60  # samples kept for the sparklines (one a second)


class PonyTile(CachedRoles, Widget, can_focus=True):
    """Updated by setting `node` and `job`; only the lines that show something new repaint.

    A metrics sample repaints the figure lines, a progress update the job line (and only
    when the bar or the percentage moves); the border repaints when the title changes.
    Measured while an encode ran, repainting the whole bordered tile twice a second was
    the larger part of the console's cost.
    """

    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    node: reactive[Node | None] = reactive(None, layout=False, repaint=False)
    job: reactive[Job | None] = reactive(None, layout=False, repaint=False)
    compact: reactive[bool] = reactive(False, toggle_class="-compact")

    def __init__(self, node: Node, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cpu_history: deque[float] = deque(maxlen=HISTORY)
        self.watt_history: deque[float] = deque(maxlen=HISTORY)
        self._title_key: tuple[object, ...] | None = None
        self._job_key: tuple[object, ...] | None = None
        self.set_reactive(PonyTile.node, node)
        self._remember(node)
        self._update_title()

    @property
    def node_name(self) -> str:
        assert self.node is not None
        return self.node.name

    def _remember(self, node: Node) -> None:
        metrics = node.metrics
        if metrics is None:
            return
        last = getattr(self, "_last_sample", None)
        if last == metrics.sampled_at:
            return
        self._last_sample = metrics.sampled_at
        self.cpu_history.append(metrics.cpu_percent)
        if metrics.watts is not None:
            self.watt_history.append(metrics.watts)

    def watch_node(self, node: Node | None) -> None:
        if node is not None:
            self._remember(node)
            self.set_class(not node.ready, "-down")
            self.set_class(node.cordoned, "-cordoned")
        self._update_title()
        self._refresh_lines(0, self._metric_lines())

    def watch_job(self, job: Job | None) -> None:
        self.set_class(job is not None, "-busy")
        self._update_title()
        key = job_line_key(job, self._width())
        if key != self._job_key:
            self._job_key = key
            self._refresh_lines(self._metric_lines(), 1)

    def _metric_lines(self) -> int:
        return 2 if self.compact else 4

    def _refresh_lines(self, first: int, count: int) -> None:
        """Repaint content lines first..first+count-1 (content coordinates, inside the border)."""
        self.refresh(Region(0, first, max(1, self.content_size.width), count))

    def _width(self) -> int:
        return max(10, self.content_size.width)

    def _update_title(self) -> None:
        """Set the border's title and subtitle when what they show changed (a set repaints)."""
        if self.node is None:
            return
        roles: dict[str, Style] = self.roles if self.is_mounted else _NO_STYLE
        busy = self.job is not None
        node = self.node
        key = (node.name, node_status(node), node.cordoned, busy, node.internal_ip, self.is_mounted)
        if key == self._title_key:
            return
        self._title_key = key
        self.border_title = render_title(node, busy, roles)
        self.border_subtitle = node.internal_ip or ""

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._title_key = None  # the title's colours come from the styles (a theme change)
        if self.is_mounted:
            self.call_after_refresh(self._update_title)

    def on_mount(self) -> None:
        self._update_title()

    def render(self) -> Group:
        roles = self.roles
        width = self._width()
        node = self.node
        lines: list[Text] = []
        if node is not None:
            lines = render_metrics(
                node.metrics,
                self.cpu_history,
                self.watt_history,
                width,
                roles,
                has_agent=node.has_agent,
                compact=self.compact,
            )
        self._job_key = job_line_key(self.job, width)
        lines.append(render_job_line(self.job, width, roles))
        for line in lines:
            line.no_wrap = True
            line.overflow = "ellipsis"
        return Group(*lines)


class _NoStyle(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


_NO_STYLE = _NoStyle()
