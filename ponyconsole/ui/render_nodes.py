"""A pony tile's lines: health figures, history and the job it encodes.

Every figure carries its own trailing space and a unit stands apart from its
number ("PWR 31.5 W rapl"), so no label runs into the next value at any
width. A styled span never starts with a space: some SVG renderers (rsvg)
drop a text run's leading space, which showed "~24.6West" in screenshots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
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


#: The glyph a state keeps when a narrow tile has no room for its words (as the node rows).
_GLYPHS = {"bad": "✖", "warn": "⚠", "ok": "●"}


def render_title(node: Node, busy: bool, palette: Palette, width: int | None = None) -> Text:
    """ "rarity · cordoned, finishing"; in ``width`` cells, the state's words shrink before
    the name does: "rarity · cordoned", "rarity cordoned", then "rarity ⊘"."""
    status, role = node_status(node)
    short = status
    if node.cordoned and busy and node.ready:
        status = "cordoned, finishing"
    glyph = "⊘" if node.cordoned and node.ready and not node.pressures else _GLYPHS[role]
    name = node.name
    forms = [(" · ", status), (" · ", short), (" ", short), (" ", glyph)]
    if width is not None:
        fitting = [(sep, word) for sep, word in forms if len(name) + len(sep) + len(word) <= width]
        sep, word = fitting[0] if fitting else forms[-1]
        if not fitting:
            name = name[: max(1, width - 3)] + "…"
    else:
        sep, word = forms[0]
    text = Text(name, style=palette["title"])
    text.append(sep)
    text.append(word, style=palette[role])
    return text


def _cores(per_core: Sequence[float], palette: Palette) -> Text:
    last = len(SPARK_CHARS) - 1
    text = Text()
    for value in per_core:
        char = SPARK_CHARS[min(last, max(0, round(value / 100 * last)))]
        text.append(char, style=palette[_level(value, CPU_WARN, CPU_BAD)])
    return text


def _percent(text: Text, value: float, style: Style) -> Text:
    """A percentage right-aligned in 4 cells; the padding stays out of the styled run."""
    figure = f"{value:.0f}%"
    text.append(" " * max(0, 4 - len(figure)))
    text.append(figure + " ", style=style)
    return text


def _cpu(metrics: NodeMetrics, palette: Palette) -> Text:
    text = Text("CPU ", style=palette["label"])
    level = _level(metrics.cpu_percent, CPU_WARN, CPU_BAD)
    return _percent(text, metrics.cpu_percent, palette[level])


def _mem(metrics: NodeMetrics, palette: Palette, sizes: bool = True) -> Text:
    text = Text("MEM ", style=palette["label"])
    level = _level(metrics.mem_percent, MEM_WARN, MEM_BAD)
    _percent(text, metrics.mem_percent, palette[level])
    if sizes:
        text.append(f"{fmt_bytes(metrics.mem_used)}/{fmt_bytes(metrics.mem_total)}")
    return text


def _swap(metrics: NodeMetrics, palette: Palette, compact: bool = False) -> Text:
    """Swap used and its in/out rate: the seeds' lock-ups were memory pressure without swap."""
    text = Text("SWP ", style=palette["label"])
    if not metrics.swap_total:
        text.append("none ", style=palette["warn"])
    elif compact:
        text.append(f"{fmt_bytes(metrics.swap_used)} ")
    else:
        text.append(f"{fmt_bytes(metrics.swap_used)}/{fmt_bytes(metrics.swap_total)} ")
    swapping = max(metrics.swap_in_per_s, metrics.swap_out_per_s)
    role = "bad" if swapping >= SWAP_ACTIVE else "dim"
    if compact:
        rate = fmt_rate(metrics.swap_in_per_s + metrics.swap_out_per_s)
        text.append(f"⇅{rate} ", style=palette[role])
    else:
        rates = f"in {fmt_rate(metrics.swap_in_per_s)} out {fmt_rate(metrics.swap_out_per_s)} "
        text.append(rates, style=palette[role])
    return text


def _temperature(metrics: NodeMetrics, palette: Palette) -> Text:
    if metrics.temperature_c is None:
        return Text()
    level = _level(metrics.temperature_c, TEMP_WARN, TEMP_BAD)
    return Text(f"{metrics.temperature_c:.0f}°C ", style=palette[level])


def _power(metrics: NodeMetrics, palette: Palette) -> Text:
    """Watts and where they come from ("31.5 W rapl"); an estimate is marked as one."""
    if metrics.watts is None:
        return Text()
    estimate = metrics.power_source is PowerSource.ESTIMATE
    text = Text(f"{'~' if estimate else ''}{metrics.watts:.1f} W ", style=palette["title"])
    text.append("est " if estimate else f"{metrics.power_source} ", style=palette["dim"])
    return text


def _spark(text: Text, history: Sequence[float], width: int, palette: Palette, top: float) -> Text:
    text.append(sparkline(history, max(0, width - text.cell_len), top=top), style=palette["spark"])
    return text


def render_metrics(
    metrics: NodeMetrics | None,
    cpu_history: Sequence[float],
    watt_history: Sequence[float],
    width: int,
    palette: Palette,
    has_agent: bool = True,
    compact: bool = False,
) -> list[Text]:
    """Four lines (CPU, memory, swap, load/temperature/power), or two when compact."""
    lines = 2 if compact else 4
    if metrics is None:
        why = "no agent" if not has_agent else "waiting for metrics…"
        return [Text(why, style=palette["dim"])] + [Text() for _ in range(lines - 1)]
    watt_top = max(watt_history, default=1.0)
    if compact:
        first = _cpu(metrics, palette) + _mem(metrics, palette, sizes=False)
        first = _spark(first, cpu_history, width, palette, 100.0)
        second = _swap(metrics, palette, compact=True) + _temperature(metrics, palette)
        return [first, second + _power(metrics, palette)]
    cpu = _cpu(metrics, palette)
    cpu.append_text(_cores(metrics.per_core[: max(0, width // 3)], palette))
    cpu.append(" ")
    misc = Text("LOAD ", style=palette["label"])
    misc.append(f"{metrics.load[0]:.2f} ")
    misc += _temperature(metrics, palette)
    if metrics.watts is not None:
        misc.append("PWR ", style=palette["label"])
        misc += _power(metrics, palette)
    return [
        _spark(cpu, cpu_history, width, palette, 100.0),
        _mem(metrics, palette),
        _swap(metrics, palette),
        _spark(misc, watt_history, width, palette, watt_top),
    ]


def _job_line_parts(job: Job, width: int) -> tuple[str, float, int, str]:
    """(name shown, percent, bar width, percent label) of a tile's job line."""
    percent = job.progress.overall_percent if job.progress else 0.0
    label = f"{percent:.0f}%"
    name = truncate(job.name, max(6, width // 2 - 2))
    # "▶ " name " " bar " " label, the label right-aligned in 4 cells
    bar_width = max(1, width - 2 - cell_len(name) - 1 - 1 - max(4, len(label)))
    return name, percent, bar_width, label


def job_line_key(job: Job | None, width: int) -> tuple[object, ...]:
    """What the job line shows: equal keys draw the same line (a tile repaints on a change)."""
    if job is None:
        return ()
    name, percent, bar_width, label = _job_line_parts(job, width)
    halves = round(min(100.0, max(0.0, percent)) / 100 * bar_width * 2)
    return (width, name, bar_width, halves, label)


def render_job_line(job: Job | None, width: int, palette: Palette) -> Text:
    """What the pony encodes now, with a bar; idle otherwise."""
    if job is None:
        return Text("idle", style=palette["dim"])
    name, percent, bar_width, label = _job_line_parts(job, width)
    text = Text()  # no base style: the padding before the label must stay a run of its own
    text.append(f"▶ {name} ", style=palette["accent"])
    text.append_text(bar(percent, bar_width, palette["accent"], palette["bar-empty"]))
    text.append(" " * (1 + max(0, 4 - len(label))))
    text.append(label, style=palette["accent"])
    return text


def render_agent_lines(
    metrics: NodeMetrics,
    cpu_history: Sequence[float],
    watt_history: Sequence[float],
    width: int,
    palette: Palette,
    stale: bool = False,
) -> list[Text]:
    """A cluster tile's two lines of agent figures: CPU (total, per core, history), memory;
    swap used and its rate, load, temperature, watts with their source (and history).
    Stale figures (the agent stopped answering) are drawn dim, never as if live."""
    first = _cpu(metrics, palette)
    cores = metrics.per_core[: max(0, (width - 24) // 2)]
    if cores:
        first.append_text(_cores(cores, palette))
        first.append(" ")
    first += _mem(metrics, palette, sizes=width >= 44)
    first = _spark(first, cpu_history, width, palette, 100.0)
    second = _swap(metrics, palette, compact=True)
    second.append("L ", style=palette["label"])
    second.append(f"{metrics.load[0]:.1f} ")
    second += _temperature(metrics, palette) + _power(metrics, palette)
    if metrics.watts is not None:
        second = _spark(second, watt_history, width, palette, max(watt_history, default=1.0))
    if stale:
        return [Text(line.plain, style=palette["dim"]) for line in (first, second)]
    return [first, second]


def render_agent_problem(problem: str, stale: bool, palette: Palette) -> Text:
    """ "⚠ stale · agent unreachable since 21:30:05", or "no agent"."""
    if not stale:
        return Text(problem, style=palette["dim"])
    text = Text("⚠ stale · ", style=palette["warn"])
    text.append(problem, style=palette["warn"])
    return text
