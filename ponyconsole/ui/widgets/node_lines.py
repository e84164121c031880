"""Ponies one line each, drawn with the line API: 300 nodes cost what the visible rows cost.

The grid switches to this form when tiles would not fit. Rows needing eyes
(not ready, under pressure, cordoned) come first, then the rest by name; an
update repaints only its row unless it moves the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ponyconsole.domain.models import Job, Node
from ponyconsole.ui import palette
from ponyconsole.ui.render_node_rows import node_matches, render_node_header, render_node_row
from ponyconsole.ui.widgets.cursor_rows import CursorRows


def row_key(node: Node) -> tuple[int, str]:
    urgency = 0 if not node.ready else 1 if node.pressures else 2 if node.cordoned else 3
    return (urgency, node.name)


class NodeHeader(Widget):
    """Column names of the node lines, aligned with the rows."""

    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    def render(self) -> Text:
        return render_node_header(self.content_size.width, palette.palette_of(self))


class NodeLines(CursorRows, ScrollView, can_focus=True):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES | {"nodelines--cursor"}

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Bottom", show=False),
    ]

    query_text: reactive[str] = reactive("")
    cursor: reactive[int] = reactive(0)

    @dataclass
    class Highlighted(Message):
        node: Node | None

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._by_name: dict[str, Node] = {}
        self._items: Mapping[str, tuple[Job, ...]] = {}
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)

    @property
    def visible_names(self) -> list[str]:
        return list(self._order)

    @property
    def selected(self) -> Node | None:
        if 0 <= self.cursor < len(self._order):
            return self._by_name[self._order[self.cursor]]
        return None

    def set_nodes(self, nodes: Mapping[str, Node], items: Mapping[str, tuple[Job, ...]]) -> None:
        self._by_name = dict(nodes)
        self._items = items
        self._reorder()

    def upsert(self, node: Node) -> None:
        old = self._by_name.get(node.name)
        self._by_name[node.name] = node
        row = self._index.get(node.name)
        same_place = old is not None and row_key(old) == row_key(node)
        if same_place and row is not None and self._matches(node):
            self.refresh_line(row)
        else:
            self._reorder()

    def remove_node(self, name: str) -> None:
        if self._by_name.pop(name, None) is not None:
            self._reorder()

    def set_items(
        self, items: Mapping[str, tuple[Job, ...]], only: Iterable[str] | None = None
    ) -> None:
        """New items per node: repaint only the rows whose items changed (``only``: these
        nodes' rows, when the caller knows which: no comparison of every node)."""
        old, self._items = self._items, items
        if only is not None:
            changed = list(only)
        else:
            changed = [n for n in set(old) | set(items) if old.get(n, ()) != items.get(n, ())]
        if self.query_text and changed:
            self._reorder()  # the filter also matches the items' names
            return
        for name in changed:
            row = self._index.get(name)
            if row is not None:
                self.refresh_line(row)

    def _matches(self, node: Node) -> bool:
        return node_matches(node, self._items.get(node.name, ()), self.query_text)

    def _reorder(self) -> None:
        nodes = sorted((n for n in self._by_name.values() if self._matches(n)), key=row_key)
        self._place([node.name for node in nodes])

    def watch_query_text(self) -> None:
        self._reorder()

    def on_focus(self) -> None:
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor)

    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if row >= len(self._order):
            if row == 0 and self.query_text:
                text = Text(f"no pony matches {self.query_text!r}")
                return Strip(list(text.render(self.app.console))).adjust_cell_length(
                    width, self.rich_style
                )
            return Strip.blank(width, self.rich_style)
        node = self._by_name[self._order[row]]
        items = self._items.get(node.name, ())
        selected = row == self.cursor and self.has_focus
        key = (node, items, width, selected)
        strip = self._cache.get(key)
        if strip is None:
            text = render_node_row(node, items, width, palette.palette_of(self))
            style = self.rich_style
            if selected:
                cursor = self.get_component_rich_style("nodelines--cursor", partial=True)
                style += Style(bgcolor=cursor.bgcolor, bold=True)
            segments = [
                Segment(seg.text, style + seg.style + Style(bgcolor=style.bgcolor))
                if seg.style
                else Segment(seg.text, style)
                for seg in text.render(self.app.console)
            ]
            strip = Strip(segments).adjust_cell_length(width, style)
            self._cache[key] = strip
        return strip

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self._order) - 1

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if row < len(self._order):
            self.cursor = row
