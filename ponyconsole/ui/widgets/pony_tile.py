"""One pony: health at a glance, the job it encodes, and short history."""

from __future__ import annotations

from collections import deque

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.strip import Strip
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
from ponyconsole.ui.widgets.roles import PLAIN_ROLES, CachedRoles

HISTORY = 60  # samples kept for the sparklines (one a second)
TITLE_MARGIN = 6  # what a title may not use of the outer width (corners, padding, spaces)


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
        self._strips: dict[int, Strip] = {}  # content line -> what it shows now
        self._strips_width = 0
        self._metrics_cache: list[Text] | None = None
        self.set_reactive(PonyTile.node, node)  # no watcher runs: set its classes here
        self.set_class(not node.ready, "-down")
        self.set_class(node.cordoned, "-cordoned")
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
        self._take_node(node)
        self._metrics_cache = None
        lines = range(self._metric_lines())
        self._forget(*lines)
        self._refresh_lines(0, len(lines))

    def _take_node(self, node: Node | None) -> None:
        """History, state classes and title of a new node (no line repainted)."""
        if node is not None:
            self._remember(node)
            self.set_class(not node.ready, "-down")
            self.set_class(node.cordoned, "-cordoned")
        self._update_title()

    def watch_job(self, job: Job | None) -> None:
        self.set_class(job is not None, "-busy")
        self._update_title()
        key = job_line_key(job, self._width())
        if key != self._job_key:
            self._job_key = key
            self._forget(self._metric_lines())
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
        width = self.outer_size.width - TITLE_MARGIN if self.outer_size.width else None
        key = (
            node.name,
            node_status(node),
            node.cordoned,
            busy,
            node.internal_ip,
            self.is_mounted,
            width,
        )
        if key == self._title_key:
            return
        # Drawn before the stylesheet applied: draw again next time, in colour.
        self._title_key = None if roles is PLAIN_ROLES else key
        self.border_title = render_title(node, busy, roles, width)
        self.border_subtitle = node.internal_ip or ""

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._title_key = None  # the title's colours come from the styles (a theme change)
        self._forget()
        if self.is_mounted:
            self.call_after_refresh(self._update_title)

    def on_mount(self) -> None:
        # During Mount `is_mounted` is still False (the title would stay uncoloured):
        # draw it once the first refresh has the stylesheet applied.
        self.call_after_refresh(self._update_title)

    # --- drawing: the line API, one cached strip per content line -------------------------

    def _metric_texts(self, width: int) -> list[Text]:
        if self._metrics_cache is None:
            node = self.node
            self._metrics_cache = (
                render_metrics(
                    node.metrics,
                    self.cpu_history,
                    self.watt_history,
                    width,
                    self.roles,
                    has_agent=node.has_agent,
                    compact=self.compact,
                )
                if node is not None
                else []
            )
        return self._metrics_cache

    def render_line(self, y: int) -> Strip:
        width = self._width()
        if self._strips_width != width:
            self._forget()
            self._strips_width = width
        strip = self._strips.get(y)
        if strip is None:
            metrics = self._metric_texts(width)
            if y < len(metrics):
                text = metrics[y]
            elif y == len(metrics):
                self._job_key = job_line_key(self.job, width)
                text = render_job_line(self.job, width, self.roles)
            else:
                text = Text()
            strip = self._strips[y] = self._strip(text, self.content_size.width)
        return strip

    def _strip(self, text: Text, width: int) -> Strip:
        """One line of Rich text on the tile's own background, cut with an ellipsis."""
        text.no_wrap = True
        text.truncate(width, overflow="ellipsis")
        base = self.base_style
        segments = [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in text.render(self.app.console)
        ]
        return Strip(segments).adjust_cell_length(width, base)

    def _forget(self, *lines: int) -> None:
        """Drop cached lines (all of them when none given) so the next paint renders them."""
        if not lines:
            self._strips.clear()
            self._metrics_cache = None
            return
        for y in lines:
            self._strips.pop(y, None)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The figure lines and the job line (the grid sizes its rows from this)."""
        return self._metric_lines() + 1

    def on_resize(self) -> None:
        self._forget()
        self._update_title()  # the title shortens or grows with the tile

    def watch_compact(self) -> None:
        self._forget()


class _NoStyle(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


_NO_STYLE = _NoStyle()
