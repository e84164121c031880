"""Titles of a rip from ``HandBrakeCLI --scan --json -t 0 -i X`` output.

The ``JSON Title Set: {...}`` block comes mixed with log lines and other
blocks (``Version: {...}``, ``Progress: {...}``); only that block counts.
"""

from __future__ import annotations

from typing import Any

from ponyconsole.domain.handbrake_json import iter_blocks, to_text
from ponyconsole.domain.models import Title

_TICKS_PER_SECOND = 90_000  # HandBrake durations are in 90 kHz clock ticks


class ScanError(Exception):
    """HandBrake found nothing usable in the input; ``str(err)`` says why."""


def parse_scan(output: bytes | str) -> tuple[Title, ...]:
    """The titles HandBrake found, in its order; ``ScanError`` when there are none."""
    try:
        text = to_text(output)
        title_set = next(iter_blocks(text, "JSON Title Set"), None)
        if title_set is None:
            raise ScanError(_why_nothing(text, "HandBrake printed no title set"))
        titles = _titles(title_set)
    except ScanError:
        raise
    except Exception as err:  # a title set of an unexpected shape: still a ScanError
        raise ScanError(f"unreadable HandBrake title set: {err!r}") from err
    if not titles:
        raise ScanError(_why_nothing(text, "No title found"))
    return titles


def _titles(title_set: dict[str, Any]) -> tuple[Title, ...]:
    entries = title_set.get("TitleList")
    if not isinstance(entries, list):
        return ()
    main = title_set.get("MainFeature")
    titles = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        index = _int(entry.get("Index"), position + 1)
        raw_geometry = entry.get("Geometry")
        geometry: dict[str, object] = raw_geometry if isinstance(raw_geometry, dict) else {}
        chapters = entry.get("ChapterList")
        titles.append(
            Title(
                index=index,
                duration_seconds=_duration(entry.get("Duration")),
                width=_int(geometry.get("Width"), 0),
                height=_int(geometry.get("Height"), 0),
                # MainFeature is the title's Index on DVDs; 0 (none) on plain files
                main_feature=isinstance(main, int) and main == index,
                chapters=len(chapters) if isinstance(chapters, list) else 0,
                name=str(entry.get("Name") or ""),
            )
        )
    return tuple(titles)


def _duration(value: Any) -> float:
    if not isinstance(value, dict):
        return 0.0
    ticks = value.get("Ticks")
    if isinstance(ticks, int | float) and not isinstance(ticks, bool) and ticks > 0:
        return float(ticks) / _TICKS_PER_SECOND
    h, m, s = (_int(value.get(k), 0) for k in ("Hours", "Minutes", "Seconds"))
    return float(h * 3600 + m * 60 + s)


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def _why_nothing(text: str, fallback: str) -> str:
    for needle in ("No title found", "Missing input", "Invalid preset"):
        at = text.find(needle)
        if at >= 0:
            return "HandBrake: " + text[at:].split("\n", 1)[0].strip()
    if not text.strip():
        return "HandBrake printed nothing"
    return fallback
