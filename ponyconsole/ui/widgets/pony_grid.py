"""The ponies section: one tile per pony, or one line per pony when tiles would not fit.

The grid owns the node view: it applies node upserts, removals and resyncs,
knows which items run on which pony, filters with ``/``, and chooses the
form. Tiles (``PonyTile`` locally, ``KubeTile`` in cluster mode) show a few
ponies in detail; past ``TILE_LIMIT`` ponies, or when the tiles would not
fit in the room given to the section, ``NodeLines`` shows every pony as one
row (line API: a 300-node cluster costs what the visible rows cost).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from rich.text import Text
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget

from ponyconsole.domain.models import Job, JobState, Node
from ponyconsole.ui import palette
from ponyconsole.ui.render_node_rows import node_matches, state_of
from ponyconsole.ui.render_pods import items_on
from ponyconsole.ui.widgets.kube_tile import KubeTile
from ponyconsole.ui.widgets.node_lines import NodeHeader, NodeLines
from ponyconsole.ui.widgets.pony_tile import PonyTile


def tile_id(node_name: str) -> str:
    return "pony-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in node_name)


class NodeCounts(Widget):
    """ "300 ponies: 296 ready · 2 not ready · 1 cordoned · 41 busy" above the lines."""

    COMPONENT_CLASSES = palette.COMPONENT_CLASSES

    counts: reactive[tuple[tuple[str, str, int], ...]] = reactive(())

    def render(self) -> Text:
        roles = palette.palette_of(self)
        total = sum(n for word, _, n in self.counts if word != "busy")
        text = Text(f"{total} {'pony' if total == 1 else 'ponies'}: ", style=roles["title"])
        for i, (word, role, n) in enumerate(self.counts):
            if i:
                text.append(" · ")
            text.append(f"{n} {word}", style=roles[role])
        return text


class PonyGrid(Vertical):
    """Laid out as a grid of tiles (styles: #ponies), or vertically in lines mode."""

    TILE_LIMIT = 12  # more ponies than this: one line each
    COLUMNS = 3  # tiles a row (styles/app.tcss #pony-tiles grid-size)
    ROOM = 0.6  # the share of the screen the section may take (styles: max-height 60%)

    query_text: reactive[str] = reactive("")

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.nodes: dict[str, Node] = {}
        self.items: dict[str, tuple[Job, ...]] = {}
        self.cluster = False
        self.compact = False
        self.lines_mode = False
        self.screen_height = 0  # the terminal's rows, once told (App.size lags a resize)

        # Lines mode's widgets: mounted only in that mode (a grid gives hidden children cells).
        self.counts = NodeCounts(id="node-counts")
        self.header = NodeHeader(id="node-header")
        self.lines = NodeLines(id="node-lines")

    # --- what the app calls ----------------------------------------------------------

    def tiles(self) -> list[PonyTile]:
        return list(self.query(PonyTile))

    @property
    def count(self) -> int:
        return len(self.nodes)

    async def resync(self, nodes: Iterable[Node], cluster: bool) -> None:
        """Replace every pony: those gone meanwhile disappear."""
        if cluster != self.cluster:
            self.cluster = cluster
            await self.query(PonyTile).remove()
        self.nodes = {node.name: node for node in nodes}
        if await self._choose_form():
            return
        if self.lines_mode:
            self.lines.set_nodes(self.nodes, self.items)
        else:
            for tile in self.tiles():
                if tile.node_name not in self.nodes:
                    await tile.remove()
            for node in self.nodes.values():
                await self._upsert_tile(node)
        self._after_change()

    async def upsert(self, node: Node) -> None:
        is_new = node.name not in self.nodes
        self.nodes[node.name] = node
        if is_new and await self._choose_form():
            return
        if self.lines_mode:
            self.lines.upsert(node)
        else:
            await self._upsert_tile(node)
        self._after_change()

    async def remove_node(self, name: str) -> None:
        if self.nodes.pop(name, None) is None:
            return
        if await self._choose_form():
            return
        if self.lines_mode:
            self.lines.remove_node(name)
        else:
            for tile in self.query(f"#{tile_id(name)}"):
                await tile.remove()
        self._after_change()

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        """Which items run (or wait) on which pony; only what changed repaints."""
        jobs = list(jobs)
        items: dict[str, tuple[Job, ...]] = {}
        if (name := self._only_pony()) is not None:
            running = [j for j in jobs if j.state is JobState.RUNNING and j.node in (None, name)]
            items[name] = tuple(running)
        else:
            # one pass over the jobs (not one per node: 300 nodes x 3,000 jobs is 900,000)
            by_node: dict[str, list[Job]] = {}
            for job in jobs:
                if job.node is not None and not job.state.finished and job.node in self.nodes:
                    by_node.setdefault(job.node, []).append(job)
            items = {name: items_on(here, name) for name, here in by_node.items()}
        self.items = items
        if self.lines_mode:
            self.lines.set_items(items)
            self._count()
            return
        self._show_on_tiles(items, every=True)
        if self.cluster and self.query_text:
            self._filter_tiles()

    def update_items(self, jobs: Iterable[Job]) -> None:
        """Items that moved on where they are (same node, same state: a progress update):
        only their tiles or lines repaint; no walk of every item (``set_jobs`` does that)."""
        changed: dict[str, tuple[Job, ...]] = {}
        for job in jobs:
            name = job.node if job.node is not None else self._only_pony()
            if name is None:
                continue
            here = changed.get(name, self.items.get(name, ()))
            at = next((i for i, j in enumerate(here) if j.id == job.id), None)
            if at is not None:
                changed[name] = (*here[:at], job, *here[at + 1 :])
        if not changed:
            return
        self.items = {**self.items, **changed}
        if self.lines_mode:
            self.lines.set_items(self.items, changed)
            return
        self._show_on_tiles(changed, every=False)

    def _only_pony(self) -> str | None:
        """Local mode's one pony, which runs whatever runs, named or not; else None."""
        if not self.cluster and len(self.nodes) == 1:
            return next(iter(self.nodes))
        return None

    def _show_on_tiles(self, items: Mapping[str, tuple[Job, ...]], every: bool) -> None:
        """Give each tile its items (``every``: tiles missing from ``items`` get none; else
        only the tiles named in ``items`` change)."""
        for tile in self.tiles():
            if not every and tile.node_name not in items:
                continue
            here = items.get(tile.node_name, ())
            if isinstance(tile, KubeTile):
                tile.jobs = here
            else:
                tile.job = next((j for j in here if j.state is JobState.RUNNING), None)

    def busy(self, name: str) -> bool:
        return any(j.state is JobState.RUNNING for j in self.items.get(name, ()))

    def selected_node(self, fallback: str | None = None) -> Node | None:
        """The pony the user points at: a focused tile, the line cursor, or ``fallback``."""
        focused = self.app.focused
        if isinstance(focused, PonyTile):
            return focused.node
        if self.lines_mode and focused is self.lines:
            return self.lines.selected
        if fallback is not None and fallback in self.nodes:
            return self.nodes[fallback]
        return next(iter(self.nodes.values())) if len(self.nodes) == 1 else None

    def set_compact(self, compact: bool) -> None:
        changed = compact != self.compact
        self.compact = compact
        for tile in self.tiles():
            tile.compact = compact
        if changed:  # an auto-height parent does not follow its tiles' class change alone
            self.refresh(layout=True)

    async def on_resize_screen(self, height: int) -> None:
        """The screen changed size: tiles may no longer fit (or fit again)."""
        self.screen_height = height
        await self._choose_form()

    # --- internals -------------------------------------------------------------------

    def _tiles_fit(self) -> bool:
        count = len(self.nodes)
        if count > self.TILE_LIMIT:
            return False
        if count <= 1:
            return True
        height = self.screen_height or self.app.size.height
        tile_h = (5 if self.compact else 8 if self.cluster else 7) if height else 7
        rows = math.ceil(count / self.COLUMNS)
        return not height or rows * tile_h <= height * self.ROOM

    async def _choose_form(self) -> bool:
        """Switch between tiles and lines if the count or the room says so; True if rebuilt."""
        want_lines = not self._tiles_fit()
        if want_lines == self.lines_mode:
            return False
        self.lines_mode = want_lines
        await self.query(PonyTile).remove()
        self.set_class(want_lines, "-lines")
        if want_lines:
            await self.mount_all([self.counts, self.header, self.lines])
            self.lines.set_nodes(self.nodes, self.items)
        else:
            for widget in (self.counts, self.header, self.lines):
                if widget.is_attached:
                    await widget.remove()
            self.counts = NodeCounts(id="node-counts")  # a removed widget cannot mount again
            self.header = NodeHeader(id="node-header")
            self.lines = NodeLines(id="node-lines")
            for node in self.nodes.values():
                await self._upsert_tile(node)
            self.set_jobs([j for here in self.items.values() for j in here])
        self._after_change()
        return True

    async def _upsert_tile(self, node: Node) -> None:
        found = self.query(f"#{tile_id(node.name)}")
        if found:
            found.first(PonyTile).node = node
            return
        tile: PonyTile
        if self.cluster:
            kube = KubeTile(node, id=tile_id(node.name), classes="pony")
            kube.clock = self.clock
            kube.jobs = self.items.get(node.name, ())
            tile = kube
        else:
            tile = PonyTile(node, id=tile_id(node.name), classes="pony")
        tile.compact = self.compact
        await self.mount(tile)
        if not self.cluster:
            here = self.items.get(node.name, ())
            tile.job = next((j for j in here if j.state is JobState.RUNNING), None)

    def _after_change(self) -> None:
        self.set_class(len(self.nodes) == 1, "-single")
        if self.lines_mode:
            self._count_soon()
        elif self.cluster and self.query_text:
            self._filter_tiles()

    _count_pending = False

    def _count_soon(self) -> None:
        """Count once after a burst (300 nodes changing must not count 300 x 300)."""
        if not self._count_pending:
            self._count_pending = True
            self.call_later(self._count)

    def _count(self) -> None:
        self._count_pending = False
        counter: Counter[tuple[str, str]] = Counter()
        for node in self.nodes.values():
            _, state, role = state_of(node, self.busy(node.name), True)
            word = "cordoned" if state.startswith("cordoned") else state
            counter[(word, role)] += 1
        order = ("ready", "not ready", "pressure", "cordoned")
        counts = [(w, r, counter[(w, r)]) for w in order for r in ("ok", "warn", "bad")]
        busy = sum(1 for name in self.nodes if self.busy(name))
        self.counts.counts = (*[c for c in counts if c[2]], ("busy", "accent", busy))

    def _filter_tiles(self) -> None:
        for tile in self.tiles():
            node = tile.node
            if node is not None:
                tile.display = node_matches(node, self.items.get(node.name, ()), self.query_text)

    def watch_query_text(self, query: str) -> None:
        if not self.cluster:
            return  # local mode has one pony: the filter is for its jobs
        if self.lines_mode:
            self.lines.query_text = query
        else:
            self._filter_tiles()
