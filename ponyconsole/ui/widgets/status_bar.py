"""The top line: mode, counts by state, connection."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.domain.models import JobState
from ponyconsole.ui import palette
from ponyconsole.ui.render_jobs import STATE_ICONS, STATE_ROLES


class StatusBar(Widget):
    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    mode: reactive[str] = reactive("local")
    ponies: reactive[int] = reactive(0)
    counts: reactive[tuple[tuple[JobState, int], ...]] = reactive(())
    connection: reactive[str] = reactive("")
    sources: reactive[tuple[SourceStatus, ...]] = reactive(())
    filter_text: reactive[str] = reactive("")
    clock: Callable[[], float] = time.time  # the app's clock (fixed in snapshots)

    def set_counts(self, states: list[JobState]) -> None:
        counter = Counter(states)
        self.counts = tuple((state, counter[state]) for state in JobState if counter[state])

    def render(self) -> Text:
        roles = palette.palette_of(self)
        text = Text("ponyconsole ", style=roles["title"])
        text.append(f"{self.mode} · {self.ponies} " + ("pony" if self.ponies == 1 else "ponies"))
        narrow = self.size.width < 100
        for state, count in self.counts:
            text.append(" " if narrow else " · ")
            label = f"{STATE_ICONS[state]}{count}" if narrow else f"{count} {state.value}"
            text.append(label, style=roles[STATE_ROLES[state]])
        if self.filter_text:
            text.append(f"  filter: {self.filter_text}", style=roles["warn"])
        if self.connection:
            text.append(f"  {self.connection}", style=roles["bad"])
        lost = [source for source in self.sources if not source.connected]
        if lost:
            text.append("  " + stale_text(lost, self.clock()), style=roles["bad"])
        return text


def stale_text(lost: list[SourceStatus], now: float) -> str:
    """ "jobs, pods: disconnected, data 12 s old" (the oldest), or why it never connected."""
    names = ", ".join(source.name for source in lost)
    ages = [age for source in lost if (age := source.age(now)) is not None]
    if not ages:
        return f"{names}: not connected ({lost[0].error})"
    return f"{names}: disconnected, data {max(ages):.0f} s old"
