"""A pony tile's lines: health figures, history and the job it encodes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text

from ponyconsole.domain.models import Job, Node, NodeMetrics, PowerSource
from ponyconsole.ui.format import (
    SPARK_CHARS,
    bar,
    fmt_bytes,
    fmt_rate,
    sparkline,
    truncate,
)

Palette = Mapping[str, Style]

CPU_WARN, CPU_BAD = 85.0, 97.0
MEM_WARN, MEM_BAD = 80.0, 92.0
SWAP_ACTIVE = 64 * 1024  # bytes/s of swapping that deserve a colour
TEMP_WARN, TEMP_BAD = 75.0, 90.0


def _level(value: float, warn: float, bad: float) -> str:
    return "bad" if value >= bad else "warn" if value >= warn else "ok"


def _spaced(condition: str) -> str:
    """MemoryPressure -> memory pressure."""
    return "".join(" " + ch.lower() if ch.isupper() else ch for ch in condition).strip()


def node_status(node: Node) -> tuple[str, str]:
    """(text, role) of the pony's state as its title shows it."""
    if not node.ready:
        return "not ready", "bad"
    if node.pressures:
        return ", ".join(_spaced(p) for p in node.pressures), "warn"
    if node.cordoned:
        return "cordoned", "warn"
    return "ready", "ok"


def render_title(node: Node, busy: bool, palette: Palette) -> Text:
    status, role = node_status(node)
    if node.cordoned and busy and node.ready:
        status = "cordoned, finishing"
    text = Text(node.name, style=palette["title"])
    text.append(" · ")
    text.append(status, style=palette[role])
    return text


def _cores(per_core: Sequence[float], palette: Palette) -> Text:
    last = len(SPARK_CHARS) - 1
    text = Text()
    for value in per_core:
        char = SPARK_CHARS[min(last, max(0, round(value / 100 * last)))]
        text.append(char, style=palette[_level(value, CPU_WARN, CPU_BAD)])
    return text


def render_metrics(
    metrics: NodeMetrics | None,
    cpu_history: Sequence[float],
    watt_history: Sequence[float],
    width: int,
    palette: Palette,
    has_agent: bool = True,
) -> list[Text]:
    """Four lines: CPU, memory, swap, load/temperature/power."""
    if metrics is None:
        why = "no agent" if not has_agent else "waiting for metrics…"
        return [Text(why, style=palette["dim"]), Text(), Text(), Text()]
    spark_w = max(0, width - 22)

    cpu = Text("CPU ", style=palette["label"])
    cpu.append(
        f"{metrics.cpu_percent:4.0f}% ",
        style=palette[_level(metrics.cpu_percent, CPU_WARN, CPU_BAD)],
    )
    cpu.append_text(_cores(metrics.per_core[: max(0, width - 11 - spark_w)], palette))
    cpu.append(" ")
    cpu.append(sparkline(cpu_history, max(0, width - cpu.cell_len)), style=palette["spark"])

    mem = Text("MEM ", style=palette["label"])
    mem.append(
        f"{metrics.mem_percent:4.0f}% ",
        style=palette[_level(metrics.mem_percent, MEM_WARN, MEM_BAD)],
    )
    mem.append(f"{fmt_bytes(metrics.mem_used)}/{fmt_bytes(metrics.mem_total)}")

    swapping = max(metrics.swap_in_per_s, metrics.swap_out_per_s)
    swap = Text("SWP ", style=palette["label"])
    if metrics.swap_total:
        swap.append(f"{fmt_bytes(metrics.swap_used)}/{fmt_bytes(metrics.swap_total)} ")
    else:
        swap.append("none ", style=palette["warn"])
    swap.append(
        f"in {fmt_rate(metrics.swap_in_per_s)} out {fmt_rate(metrics.swap_out_per_s)}",
        style=palette["bad" if swapping >= SWAP_ACTIVE else "dim"],
    )

    misc = Text("LOAD ", style=palette["label"])
    misc.append(f"{metrics.load[0]:.2f} ")
    if metrics.temperature_c is not None:
        misc.append(
            f"{metrics.temperature_c:.0f}°C ",
            style=palette[_level(metrics.temperature_c, TEMP_WARN, TEMP_BAD)],
        )
    if metrics.watts is not None:
        misc.append("PWR ", style=palette["label"])
        estimate = metrics.power_source is PowerSource.ESTIMATE
        misc.append(f"{'~' if estimate else ''}{metrics.watts:.1f}W")
        misc.append(" est" if estimate else f" {metrics.power_source}", style=palette["dim"])
        misc.append(" ")
        misc.append(
            sparkline(
                watt_history, max(0, width - misc.cell_len), top=max(watt_history, default=1)
            ),
            style=palette["spark"],
        )
    return [line for line in (cpu, mem, swap, misc)]


def render_job_line(job: Job | None, width: int, palette: Palette) -> Text:
    """What the pony encodes now, with a bar; idle otherwise."""
    if job is None:
        return Text("idle", style=palette["dim"])
    percent = job.progress.overall_percent if job.progress else 0.0
    label = f" {percent:3.0f}%"
    name_w = max(6, width // 2 - 2)
    text = Text("▶ ", style=palette["accent"])
    text.append(truncate(job.name, name_w))
    text.append(" ")
    text.append_text(
        bar(
            percent,
            max(1, width - text.cell_len - len(label)),
            palette["accent"],
            palette["bar-empty"],
        )
    )
    text.append(label)
    return text
