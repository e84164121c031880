"""One line over a section while its sources are lost: "nodes: disconnected, data 12 s old".

Hidden while every source of the section is connected; the status bar keeps
the global one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.ui import palette
from ponyconsole.ui.widgets.status_bar import stale_text


class StaleNote(Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    sources: reactive[tuple[SourceStatus, ...]] = reactive(())

    def __init__(
        self,
        wanted: Callable[[str], bool],
        clock: Callable[[], float] = time.time,
        **kwargs: object,
    ) -> None:
        """``wanted(source name)``: whether the section shows that source's data."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.wanted = wanted
        self.clock = clock
        self.display = False

    def lost(self) -> list[SourceStatus]:
        return [s for s in self.sources if self.wanted(s.name) and not s.connected]

    def watch_sources(self) -> None:
        self.display = bool(self.lost())

    def render(self) -> Text:
        lost = self.lost()
        if not lost:
            return Text()
        return Text("⚠ " + stale_text(lost, self.clock()), style=palette.palette_of(self)["bad"])
