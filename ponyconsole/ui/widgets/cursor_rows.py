"""The cursor of a line-API list of keyed rows (the job list, the pony lines), written once.

A mixin listed first in the bases of a ``ScrollView`` that has a ``cursor``
reactive, a ``Highlighted`` message and a ``selected`` property, and keeps
``_order`` (row keys, top to bottom), ``_index`` (key -> row) and ``_cache``
(rendered strips).
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.geometry import Region, Size


class CursorRows:
    _order: list[str]
    _index: dict[str, int]
    _cache: Any

    def _place(self, keys: list[str]) -> None:
        """Show rows in this order; the cursor stays on the row it was on, if still there.

        The selection is looked up by key: its object may just have been removed.
        """
        this: Any = self
        cursor = this.cursor
        selected = self._order[cursor] if 0 <= cursor < len(self._order) else None
        self._order = keys
        self._index = {key: i for i, key in enumerate(keys)}
        this.virtual_size = Size(this.scrollable_content_region.width, len(keys))
        if selected is not None and selected in self._index:
            this.cursor = self._index[selected]
        else:
            this.cursor = min(cursor, max(0, len(keys) - 1))
        this.refresh()

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._order) - 1)) if self._order else 0

    def watch_cursor(self, old: int, new: int) -> None:
        this: Any = self
        this.refresh_line(old)
        this.refresh_line(new)
        if this.size.height:
            this.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True)
        this.post_message(this.Highlighted(this.selected))

    def on_resize(self, event: events.Resize) -> None:
        this: Any = self
        this.virtual_size = Size(this.scrollable_content_region.width, len(self._order))
        self._cache.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._cache.clear()
