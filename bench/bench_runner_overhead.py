"""Wall time of an encode through the local runner against the same HandBrakeCLI command bare.

Makes a clip with ffmpeg (30 s, 640x360), then alternates, for N rounds:
  A  the bare HandBrakeCLI command, argv built by the runner's own build_argv
     (checked against Job.command after the first runner encode), output elsewhere;
  B  LocalBackend.enqueue of a fresh copy of the clip, timed until the job is
     SUCCEEDED in backend.snapshot() (polled every 10 ms).
B includes what the user pays around the encode: the enqueue's source scan and the
runner's check of the output's duration (ffprobe; HandBrake's scan without it). Both
are also timed bare in each round (on the source copy and on A's output) so the table
says how much of B they are. Medians and the ratio runner/bare (aim <= 1.03).

    .venv/bin/python bench/bench_runner_overhead.py [--rounds 3] [--seconds 30] [--size 640x360]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.scanner import media_duration, scan_titles
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.demo import copy_settled as place
from ponyconsole.demo import make_clip
from ponyconsole.domain.models import EnqueueRequest, Job, JobState
from ponyconsole.pipeline.handbrake_run import build_argv

DONE = {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


@dataclass
class Rounds:
    bare: list[float] = field(default_factory=list)
    runner: list[float] = field(default_factory=list)
    enqueue_call: list[float] = field(default_factory=list)
    started_to_finished: list[float] = field(default_factory=list)
    scan_source: list[float] = field(default_factory=list)
    scan_output: list[float] = field(default_factory=list)


def timed_verify(handbrake: str, path: Path) -> float:
    t0 = time.perf_counter()
    media_duration(handbrake, path)
    return time.perf_counter() - t0


def timed_scan(handbrake: str, path: Path) -> float:
    t0 = time.perf_counter()
    scan_titles(handbrake, path)
    return time.perf_counter() - t0


async def run_bare(argv: list[str]) -> float:
    def run() -> float:
        t0 = time.perf_counter()
        subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ).check_returncode()
        return time.perf_counter() - t0

    return await asyncio.to_thread(run)


async def run_runner(backend: LocalBackend, source: Path, preset: str, r: Rounds) -> Job:
    t0 = time.perf_counter()
    job = await backend.enqueue(EnqueueRequest(path=str(source), library="movies", preset=preset))
    r.enqueue_call.append(time.perf_counter() - t0)
    while True:
        current = next((j for j in backend.snapshot().jobs if j.id == job.id), None)
        if current is not None and current.state in DONE:
            break
        await asyncio.sleep(0.01)
    r.runner.append(time.perf_counter() - t0)
    if current.state is not JobState.SUCCEEDED:
        raise SystemExit(f"runner encode ended {current.state.value}: {current.reason}")
    if current.started_at and current.finished_at:
        r.started_to_finished.append(current.finished_at - current.started_at)
    return current


async def bench(args: argparse.Namespace, root: Path) -> Rounds:
    settings = LocalSettings.load(
        data_dir=root / "data",
        inbox_dir=root / "inbox",
        output_dir=root / "library",
        pony_name="benchpony",
        env={},
        # The enqueue of a rip never seen before waits the settle time (inbox.py); that is
        # a safety wait, not runner overhead, so the bench does not count it.
        settle_seconds=0.0,
    )
    preset = args.preset or settings.default_preset
    print(f"making a {args.seconds:g} s {args.size} clip with ffmpeg ...", flush=True)
    clip = make_clip(root / "clip.mp4", seconds=args.seconds, size=args.size)
    bare_dir = root / "bare"
    bare_dir.mkdir()

    def bare_argv(i: int) -> list[str]:
        return build_argv(settings.handbrake, str(clip), bare_dir / f"bare-{i}.mkv", preset, None)

    print("warm-up: one bare encode (not counted) ...", flush=True)
    await run_bare(bare_argv(0))

    r = Rounds()
    backend = LocalBackend(settings)
    await backend.start()
    try:
        for i in range(1, args.rounds + 1):
            argv = bare_argv(i)
            r.bare.append(await run_bare(argv))
            source = place(clip, settings.inbox_dir / "movies" / f"clip {i}.mp4")
            job = await run_runner(backend, source, preset, r)
            # The runner's command is the bare one but for source and output paths.
            ran = list(job.command)
            expected = [str(source) if a == str(clip) else a for a in argv]
            expected[expected.index("-o") + 1] = ran[ran.index("-o") + 1]
            if ran != expected:
                raise SystemExit(f"runner argv differs from the bare one:\n{ran}\n{expected}")
            r.scan_source.append(await asyncio.to_thread(timed_scan, settings.handbrake, source))
            out = bare_dir / f"bare-{i}.mkv"
            r.scan_output.append(await asyncio.to_thread(timed_verify, settings.handbrake, out))
            print(
                f"round {i}: bare {r.bare[-1]:.2f} s, runner {r.runner[-1]:.2f} s "
                f"(ratio {r.runner[-1] / r.bare[-1]:.3f})",
                flush=True,
            )
        print("command: " + " ".join(job.command))
    finally:
        await backend.stop()
    return r


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0, help="clip length")
    parser.add_argument("--size", default="640x360", help="clip size")
    parser.add_argument("--preset", help="HandBrake preset (default: the console's default)")
    args = parser.parse_args()
    for tool in ("HandBrakeCLI", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench_runner_overhead: {tool} is needed")
    root = Path(tempfile.mkdtemp(prefix="ponybench-runner-"))
    try:
        r = asyncio.run(bench(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    med = statistics.median
    bare, runner = med(r.bare), med(r.runner)
    scans = med(r.scan_source) + med(r.scan_output)
    print()
    print(
        f"Encode through the local runner vs bare HandBrakeCLI, {args.seconds:g} s {args.size} "
        f"clip, {args.rounds} alternating rounds (medians, wall seconds)"
    )
    rows = [
        ("bare HandBrakeCLI encode", bare),
        ("runner: enqueue -> SUCCEEDED", runner),
        ("  of which enqueue() call (source scan)", med(r.enqueue_call)),
        ("  of which job started -> finished", med(r.started_to_finished)),
        ("bare --scan of the source", med(r.scan_source)),
        ("duration check of an output (verify)", med(r.scan_output)),
    ]
    width = max(len(name) for name, _ in rows) + 2
    print(f"{'':<{width}}{'seconds':>9}{'/ bare':>9}")
    print("-" * (width + 18))
    for name, value in rows:
        print(f"{name:<{width}}{value:>9.3f}{value / bare:>9.3f}")
    print("-" * (width + 18))
    paired = med([b / a for a, b in zip(r.bare, r.runner, strict=True)])
    print(f"{'ratio runner / bare':<{width}}{runner / bare:>18.3f}   (aim <= 1.03)")
    print(f"{'median of per-round ratios':<{width}}{paired:>18.3f}")
    print(
        f"{'ratio without the two scans':<{width}}{(runner - scans) / bare:>18.3f}"
        f"   (scans: {scans:.3f} s = {100 * scans / bare:.1f} % of the bare encode)"
    )
    print(
        "per round (bare / runner): "
        + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(r.bare, r.runner, strict=True))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
