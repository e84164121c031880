"""Pure text formatting of numbers, durations and bars (no Textual, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from rich.text import Text

from ponyconsole.domain.naming import shown

_PLAIN = Style()
SPARK_CHARS = "▁▂▃▄▅▆▇█"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit in ("B", "K") else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}T"  # pragma: no cover - loop always returns


def fmt_rate(bytes_per_s: float) -> str:
    return f"{fmt_bytes(bytes_per_s)}/s"


def fmt_duration(seconds: float | None) -> str:
    """Compact h/m/s: 45s, 3m04s, 1h02m."""
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def fmt_fps(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def sparkline(values: Iterable[float], width: int, top: float = 100.0) -> str:
    """The last `width` values as block characters, scaled to 0..top."""
    tail = list(values)[-width:] if width > 0 else []
    if not tail:
        return ""
    top = max(top, max(tail), 1e-9)
    last = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[min(last, max(0, round(v / top * last)))] for v in tail)


def bar_pieces(percent: float, width: int, fill: Style, empty: Style) -> list[tuple[str, Style]]:
    """``bar`` as (text, style) pieces: the filled part, the half cell, the empty part."""
    percent = min(100.0, max(0.0, percent))
    halves = round(percent / 100 * width * 2)
    full, half = divmod(halves, 2)
    pieces = [("━" * full, fill)] if full else []
    if half:
        pieces.append(("╸", fill))
    if width - full - half:
        pieces.append(("━" * (width - full - half), fill + empty))  # as in ``bar``'s Text
    return pieces


def bar(percent: float, width: int, fill: Style = _PLAIN, empty: Style = _PLAIN) -> Text:
    """A progress bar of heavy lines with half-cell resolution (as Textual's ProgressBar)."""
    return Text.assemble(*bar_pieces(percent, width, fill, empty))


_CONTROL = {c: "�" for c in range(32)} | {0x0A: "␤", 0x0D: "␍", 0x09: "␉", 0x7F: "�"}


def printable(text: str) -> str:
    """One line of text, whatever a file name holds: newlines shown as ␤, controls as �,
    bytes that are not UTF-8 as � (a terminal cannot take them)."""
    return shown(text).translate(_CONTROL)


def truncate(text: str, width: int) -> str:
    """At most `width` terminal cells (a CJK character takes two), cut with an ellipsis."""
    if width <= 0:
        return ""
    text = printable(text)
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip(" ") + "…"
