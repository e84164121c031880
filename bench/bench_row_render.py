"""Cost of drawing one queue row: styled pieces straight to segments, against Rich Text.

A running row is drawn again every second (its progress, FPS, ETA and elapsed time
move), so with six transcodes followed its cost is paid six times a second. The
queue builds a row as (text, style) pieces and makes the segments of the line from
them (``JobList.render_line``); before, the row was a Rich ``Text`` that Rich split
into segments. Both ways are timed here in the same run, on the same rows (running
items whose progress moves, at 160 columns), from the same pieces: the Text way
assembles them into a Text and renders it, as the queue used to.

    .venv/bin/python bench/bench_row_render.py [--rows 3000] [--width 160]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ponyconsole.domain.models import Job, JobState, Progress, ProgressState
from ponyconsole.ui.palette import ROLES
from ponyconsole.ui.render_jobs import render_row, row_pieces
from ponyconsole.ui.widgets.job_list import _on_row

PALETTE = {role: Style(color=f"#{40 * i % 256:02x}{90 + i:02x}c0") for i, role in enumerate(ROLES)}
ROW_STYLE = Style(color="#e0e0e0", bgcolor="#101010")


def rows(count: int, now: float) -> list[Job]:
    base = Job(
        id="v1",
        source="/srv/inbox/movies/Spirited Away (2001).mkv",
        library="movies",
        preset="Fast 1080p30",
        state=JobState.RUNNING,
        node="twilight-sparkle",
        progress=Progress(ProgressState.WORKING, 1, 2, 0.0, 0.0, 41.2, 39.8, 1870),
        started_at=now - 600,
        created_at=now - 700,
    )
    assert base.progress is not None
    return [
        dataclasses.replace(
            base,
            progress=dataclasses.replace(
                base.progress, percent=i % 100, overall_percent=(i / count) * 100, fps=30 + i % 17
            ),
        )
        for i in range(count)
    ]


def as_pieces(job: Job, width: int, now: float) -> Strip:
    return Strip(
        [
            Segment(text, _on_row(ROW_STYLE, style) if style else ROW_STYLE)
            for text, style in row_pieces(job, width, now, PALETTE)
        ],
        width,
    )


def as_text(console: Console) -> object:
    def draw(job: Job, width: int, now: float) -> Strip:
        text = render_row(job, width, now, PALETTE)
        segments = [
            Segment(seg.text, ROW_STYLE + seg.style + Style(bgcolor=ROW_STYLE.bgcolor))
            if seg.style
            else Segment(seg.text, ROW_STYLE)
            for seg in text.render(console)
        ]
        return Strip(segments).adjust_cell_length(width, ROW_STYLE)

    return draw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    now = time.time()
    jobs = rows(args.rows, now)
    console = Console(width=args.width, color_system="truecolor")
    ways = {"pieces -> segments": as_pieces, "Rich Text -> segments": as_text(console)}
    first = {name: [way(j, args.width, now).text for j in jobs[:50]] for name, way in ways.items()}
    assert len({tuple(v) for v in first.values()}) == 1, "the two ways draw different rows"
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):  # interleaved: both see the same machine
        for name, way in ways.items():
            t0 = time.perf_counter()
            for job in jobs:
                way(job, args.width, now)  # type: ignore[operator]
            times[name].append((time.perf_counter() - t0) / len(jobs) * 1e6)
    print(f"one running queue row at {args.width} columns, {args.rows} rows x {args.repeats}")
    for name, values in times.items():
        print(f"  {name:<24} {statistics.median(values):7.0f} us a row (median)")
    ratio = statistics.median(times["Rich Text -> segments"]) / statistics.median(
        times["pieces -> segments"]
    )
    per_second = 6 * statistics.median(times["pieces -> segments"]) / 1e4
    print(f"  pieces are {ratio:.1f}x faster; six rows a second: {per_second:.3f} % of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
