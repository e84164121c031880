"""Throughput of the HandBrake progress parser against plain reading of the same bytes.

Runs HandBrakeCLI once on a small clip in each form (text and --json, 2-pass),
repeats that real output to ~50 MB, then times, in the same run:
plain reading in 64 KiB chunks, and ProgressParser.feed on the same chunks.

    .venv/bin/python bench/bench_parser.py [--mb 50]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ponyconsole.domain.handbrake_progress import ProgressParser
from tests.fixtures.media import make_clip

CHUNK = 64 * 1024


def capture(workdir: Path) -> dict[str, bytes]:
    clip = make_clip(workdir / "clip.mp4", seconds=12.0)
    common = ["-i", str(clip), "-e", "x264", "--x264-preset", "veryslow", "-E", "copy:aac"]
    common += ["-b", "400", "--two-pass", "--turbo"]
    forms = {}
    for form, extra in (("text", []), ("json", ["--json"])):
        out = workdir / f"{form}.mp4"
        done = subprocess.run(
            ["HandBrakeCLI", *extra, *common, "-o", str(out)], capture_output=True, check=True
        )
        forms[form] = done.stdout
    return forms


def timed(fn, data: bytes, repeat: int = 3) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(data)
        best = min(best, time.perf_counter() - start)
    return best, result


def plain_read(data: bytes) -> int:
    view, total = memoryview(data), 0
    for at in range(0, len(data), CHUNK):
        total += len(bytes(view[at : at + CHUNK]))
    return total


def parse(data: bytes) -> int:
    view, parser, count = memoryview(data), ProgressParser(), 0
    for at in range(0, len(data), CHUNK):
        count += len(parser.feed(bytes(view[at : at + CHUNK])))
    return count + len(parser.close())


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--mb", type=float, default=50.0, help="size of the corpus (default 50)")
    mb = args.parse_args().mb
    with tempfile.TemporaryDirectory() as tmp:
        forms = capture(Path(tmp))
    corpora = {name: out for name, out in forms.items()}
    corpora["mixed"] = forms["text"] + forms["json"]
    rows = []
    for name, unit in corpora.items():
        data = unit * max(1, int(mb * 1e6 / len(unit)))
        size = len(data) / 1e6
        read_s, _ = timed(plain_read, data)
        parse_s, updates = timed(parse, data)
        rows.append((name, size, updates, size / read_s, size / parse_s, parse_s / read_s))
    print(f"HandBrake output repeated to ~{mb:g} MB, fed in {CHUNK // 1024} KiB chunks, best of 3")
    header = ("corpus", "MB", "updates", "read MB/s", "parse MB/s", "parse/read time")
    print("{:<7} {:>7} {:>10} {:>11} {:>11} {:>16}".format(*header))
    for name, size, updates, read_rate, parse_rate, ratio in rows:
        print(
            f"{name:<7} {size:>7.1f} {updates:>10,} {read_rate:>11,.0f} "
            f"{parse_rate:>11,.1f} {ratio:>15,.0f}x"
        )
    worst = min(row[4] for row in rows)
    print(f"slowest parse: {worst:.1f} MB/s (target >= 50 MB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
