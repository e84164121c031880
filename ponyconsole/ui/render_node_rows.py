"""One line per pony, for clusters too big for tiles (300 nodes at a glance).

Columns are declared by width as in render_jobs.py; pressures get their own
column only on wide terminals (otherwise they are the state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text

from ponyconsole.domain.models import Job, JobState, Node
from ponyconsole.ui.format import truncate
from ponyconsole.ui.render_nodes import _spaced, node_status
from ponyconsole.ui.render_pods import fmt_cpu, fmt_mem, render_item_line, role_label

Palette = Mapping[str, Style]

WIDE_FROM = 120


def _widths(width: int) -> dict[str, int]:
    if width >= WIDE_FROM:
        return {"name": 22, "state": 19, "pressure": 16, "cpu": 9, "mem": 15}
    return {"name": 16, "state": 13, "pressure": 0, "cpu": 7, "mem": 12}


def state_of(node: Node, busy: bool, separate_pressures: bool) -> tuple[str, str, str]:
    """(icon, state text, role): what a row says of a node."""
    if not node.ready:
        return "✖", "not ready", "bad"
    if node.cordoned:
        return "⊘", "cordoned, finishing" if busy else "cordoned", "warn"
    if node.pressures:
        text = "pressure" if separate_pressures else node_status(node)[0]
        return "⚠", text, "warn"
    return "●", "ready", "ok"


def _cell(text: str, width: int, style: Style | str = "") -> Text:
    """A column: its text padded inside its own style, then the separator, so that no
    styled run starts with a space (rsvg drops those in the screenshots)."""
    return Text(truncate(text, width).ljust(width) + " ", style=style)


def render_node_header(width: int, palette: Palette) -> Text:
    w = _widths(width)
    style = palette["header"]
    row = _cell("NODE", w["name"] + 2, style)
    row.append_text(_cell("STATE", w["state"], style))
    if w["pressure"]:
        row.append_text(_cell("PRESSURE", w["pressure"], style))
    row.append_text(_cell("CPU REQ", w["cpu"], style))
    row.append_text(_cell("MEM REQ", w["mem"], style))
    row.append("RUNNING", style=style)
    row.truncate(width, overflow="ellipsis", pad=True)
    return row


def render_node_row(node: Node, items: Sequence[Job], width: int, palette: Palette) -> Text:
    """Exactly ``width`` cells: icon, name, state, [pressures], requests, the item running."""
    w = _widths(width)
    running = [j for j in items if j.state is JobState.RUNNING]
    icon, state, role = state_of(node, bool(running), bool(w["pressure"]))
    row = Text(icon + " ", style=palette[role])
    name = node.name + (" ★" if role_label(node) else "")
    row.append_text(_cell(name, w["name"], palette["title"]))
    row.append_text(_cell(state, w["state"], palette[role]))
    if w["pressure"]:
        pressures = ", ".join(_spaced(p).replace(" pressure", "") for p in node.pressures)
        row.append_text(_cell(pressures, w["pressure"], palette["warn"]))
    cpu = f"{fmt_cpu(node.requested_cpu_milli)}/{fmt_cpu(node.allocatable_cpu_milli)}"
    row.append_text(_cell(cpu, w["cpu"]))
    mem = f"{fmt_mem(node.requested_memory)}/{fmt_mem(node.allocatable_memory)}"
    row.append_text(_cell(mem, w["mem"]))
    rest = width - row.cell_len
    if rest > 0:
        row.append_text(_items_cell(items, rest, palette))
    row.truncate(width, overflow="ellipsis", pad=True)
    return row


def _items_cell(items: Sequence[Job], width: int, palette: Palette) -> Text:
    if not items:
        return Text("idle", style=palette["dim"])
    more = f" +{len(items) - 1}" if len(items) > 1 else ""
    text = render_item_line(items[0], max(1, width - len(more)), palette)
    text.append(more, style=palette["dim"])
    return text


def node_matches(node: Node, items: Sequence[Job], query: str) -> bool:
    """The filter: every word in the node's name, state, roles, pressures or its items' names."""
    if not query:
        return True
    haystack = " ".join(
        (
            node.name,
            node_status(node)[0],
            "cordoned" if node.cordoned else "",
            role_label(node),
            " ".join(node.pressures),
            " ".join(j.name for j in items),
        )
    ).lower()
    return all(term in haystack for term in query.lower().split())
