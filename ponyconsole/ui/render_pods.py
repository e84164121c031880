"""A cluster pony's tile lines: what Kubernetes says of the node, and every item on it.

Pure functions (domain -> Rich ``Text``), as render_nodes.py for the metrics:
the tile widget only picks how many lines it has room for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text

from ponyconsole.domain.models import Job, JobState, Node
from ponyconsole.ui.format import bar, truncate
from ponyconsole.ui.render_jobs import STATE_ICONS, STATE_ROLES

Palette = Mapping[str, Style]

REQ_WARN, REQ_BAD = 80.0, 95.0  # % of allocatable requested


def fmt_age(seconds: float | None) -> str:
    """kubectl's AGE: 45s, 12m, 5h, 3d."""
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 2 * 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def fmt_cpu(milli: int | None) -> str:
    if milli is None:
        return "-"
    cores = milli / 1000
    return f"{cores:.0f}" if milli % 1000 == 0 else f"{cores:.1f}"


def role_label(node: Node, narrow: bool = False) -> str:
    """The node's roles as the user says them; the master is the control plane."""
    roles = [r for r in node.roles if r not in ("master", "control-plane")]
    if node.is_master or len(roles) != len(node.roles):
        roles.insert(0, "ctl-plane" if narrow else "control plane")
    return ", ".join(roles)


def _level(used: int, total: int | None) -> str:
    if not total:
        return "dim"
    percent = 100.0 * used / total
    return "bad" if percent >= REQ_BAD else "warn" if percent >= REQ_WARN else "ok"


def fmt_mem(n: int | None) -> str:
    """Memory in whole units where that is precise enough: 512M, 3.5G, 16G."""
    if n is None:
        return "-"
    for unit, size in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if n >= size:
            value = n / size
            return (
                f"{value:.0f}{unit}" if value >= 10 or value == int(value) else f"{value:.1f}{unit}"
            )
    return f"{n}B"


def requests_text(node: Node, palette: Palette, width: int = 80) -> Text:
    """ "req CPU 1.5/4 MEM 3.5G/16G": what the pods there request against allocatable
    (narrow tiles: "req 1.5/4 3.5G/16G")."""
    narrow = width < 26
    text = Text("req ", style=palette["dim"])
    if not narrow:
        text.append("CPU ", style=palette["label"])
    cpu = f"{fmt_cpu(node.requested_cpu_milli)}/{fmt_cpu(node.allocatable_cpu_milli)}"
    cpu_role = _level(node.requested_cpu_milli, node.allocatable_cpu_milli)
    text.append(cpu, style=palette[cpu_role])
    text.append(" ")
    if not narrow:
        text.append("MEM ", style=palette["label"])
    mem = f"{fmt_mem(node.requested_memory)}/{fmt_mem(node.allocatable_memory)}"
    text.append(mem, style=palette[_level(node.requested_memory, node.allocatable_memory)])
    return text


def facts_text(node: Node, now: float, width: int, palette: Palette) -> Text:
    """Roles, kubelet version and age: "control plane · v1.35.4 · 12d"."""
    narrow = width < 32
    parts = [p for p in (role_label(node, narrow), node.kubelet_version or "") if p]
    if node.created_at is not None:
        parts.append(fmt_age(now - node.created_at))
    if node.metrics is None and not node.has_agent:
        parts.append("no agent")
    line = " · ".join(parts)
    if len(line) > width and node.kubelet_version in parts:
        # a narrow tile: the kubelet version says least, the rest stays whole
        line = " · ".join(p for p in parts if p != node.kubelet_version)
    return Text(line, style=palette["dim"])


def item_state(job: Job) -> tuple[str, str]:
    """(icon and word, role) of an item as a tile or a row shows it."""
    if job.state is JobState.RUNNING and job.stalled:
        return "⚠ stalled", "warn"
    return f"{STATE_ICONS[job.state]} {job.state.value}", STATE_ROLES[job.state]


def render_item_line(job: Job, width: int, palette: Palette) -> Text:
    """One item on a pony: "▶ Spirited Away… transcode ━━━╸━━ 71%", or its state."""
    percent_label = ""
    text = Text()
    if job.state is JobState.RUNNING and not job.stalled:
        text.append("▶ ", style=palette["accent"])
    else:
        word, role = item_state(job)
        text.append(word + " ", style=palette[role])
    stage = job.stage if job.stage and job.stage != "transcode" else ""
    running = job.state is JobState.RUNNING
    if running and job.stage == "transcode":
        percent = job.progress.overall_percent if job.progress else 0.0
        percent_label = f"{percent:.0f}%"
        name_w = max(6, (width - text.cell_len) // 2)
        text.append(truncate(job.name, name_w) + " ")
        bar_w = width - text.cell_len - 1 - max(4, len(percent_label))
        if bar_w >= 3:
            role = "warn" if job.stalled else "accent"
            text.append_text(bar(percent, bar_w, palette[role], palette["bar-empty"]))
            text.append(" " * (1 + max(0, 4 - len(percent_label))))
        text.append(percent_label, style=palette["accent"])
    else:
        room = width - text.cell_len - (len(stage) + 1 if stage else 0)
        text.append(truncate(job.name, max(4, room)))
        if stage:  # a styled run never starts with a space (rsvg drops it in screenshots)
            text.append(" ")
            text.append(stage, style=palette["dim"])
    text.truncate(width, overflow="ellipsis")
    return text


def render_item_lines(jobs: Sequence[Job], width: int, rows: int, palette: Palette) -> list[Text]:
    """As many items as ``rows`` holds; the last line says how many more when they don't fit."""
    if rows <= 0:
        return []
    if not jobs:
        return [Text("idle", style=palette["dim"])]
    if len(jobs) <= rows:
        return [render_item_line(job, width, palette) for job in jobs]
    if rows == 1:  # the first item, and how many more
        more = f" +{len(jobs) - 1}"
        line = render_item_line(jobs[0], max(1, width - len(more)), palette)
        line.append(more, style=palette["dim"])
        return [line]
    shown = [render_item_line(job, width, palette) for job in jobs[: rows - 1]]
    running = sum(1 for job in jobs[rows - 1 :] if job.state is JobState.RUNNING)
    more = f"+{len(jobs) - rows + 1} more" + (f" ({running} running)" if running else "")
    return [*shown, Text(more, style=palette["dim"])]


def items_on(jobs: Sequence[Job], node: str) -> tuple[Job, ...]:
    """The items that run or wait on ``node``: running first, then by age."""
    here = [j for j in jobs if j.node == node and not j.state.finished]
    order = sorted(here, key=lambda j: (j.state is not JobState.RUNNING, j.created_at, j.name))
    return tuple(order)
