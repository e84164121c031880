"""What a console costs while attached to `ponyconsole serve` that is encoding, 200 jobs queued.

A temp queue holds one real clip (made with ffmpeg) and, behind it, 200 queued
jobs; `ponyconsole serve` runs it (a real HandBrake encode all along the
window), and the real `ponyconsole console` attaches to it in a detached
160x48 tmux pane, next to a minimal idle Textual app in the same kind of pane
(bench_console_cost.py's machinery). Over one shared window: CPU (% of one
core) and peak RSS of the console alone, of serve alone (its HandBrake child
is not counted: that is the encode), and of the baseline. Aim: the attached
console <= 1 % of a core and <= 100 MB.

    .venv/bin/python bench/bench_attached_cost.py [--seconds 30] [--jobs 200] [--show]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_console_cost import BIN, NAME, PONY, ROOT, Pane, Tmux, measure, wait_first_paint
from ponyconsole.backends.local.queue import JobQueue, job_id_for
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.demo import make_clip, settle

TARGET_CPU = 1.0  # % of one core
TARGET_RSS = 100.0  # MB
# x265 at 720p30 keeps a 2-core machine encoding a 2-minute 640x360 clip for well over
# a minute, so the window sees one encode from start to end.
PRESET = "H.265 MKV 720p30"


def prepare(root: Path, count: int, clip_seconds: float) -> LocalSettings:
    settings = LocalSettings.load(
        data_dir=root / "data",
        inbox_dir=root / "inbox",
        output_dir=root / "library",
        pony_name=PONY,
        env={},
    )
    settings.ensure_dirs()
    print(f"making a {clip_seconds:g} s clip with ffmpeg ...", flush=True)
    clip = settle(
        make_clip(settings.inbox_dir / "movies" / "Encoding Now.mp4", clip_seconds, "640x360")
    )
    now = time.time() - 3600
    with JobQueue(settings.db_path) as queue:
        queue.enqueue(
            job_id=job_id_for("movies", str(clip), clip.stat().st_size, None),
            source=str(clip), library="movies", preset=PRESET, title=None,
            output=str(settings.output_dir / "movies" / "Encoding Now.mkv"),
            source_size=clip.stat().st_size, source_duration=clip_seconds, now=now,
        )  # fmt: skip
        for i in range(count):
            source = settings.inbox_dir / "movies" / f"{NAME} {i + 1:03d}.mkv"
            queue.enqueue(
                job_id=job_id_for("movies", str(source), i, None),
                source=str(source), library="movies", preset=PRESET, title=None,
                output=str(settings.output_dir / "movies" / f"{source.stem}.mkv"),
                source_size=4_000_000_000 + i, source_duration=5400.0, now=now + 1 + i,
            )  # fmt: skip
    print(f"queue: 1 real clip, then {count} queued jobs; pony {PONY}")
    return settings


# The same attach with no UI at all: what the backend's following costs, apart from drawing.
HEADLESS = """
import asyncio, sys
from ponyconsole.backends.local.backend import LocalBackend
from ponyconsole.backends.local.settings import LocalSettings

async def main():
    settings = LocalSettings.load(data_dir=sys.argv[1], inbox_dir=sys.argv[2],
                                  output_dir=sys.argv[3], pony_name=sys.argv[4], env={})
    backend = LocalBackend(settings)
    events = backend.events()
    await backend.start()
    print(backend.runner_owner, flush=True)
    async for _event in events:
        pass

asyncio.run(main())
"""


def own_cpu(proc: psutil.Process) -> float:
    """CPU seconds of the process itself (not its children: serve's HandBrake)."""
    times = proc.cpu_times()
    return times.user + times.system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--jobs", type=int, default=200, help="queued jobs behind the encode")
    parser.add_argument("--clip-seconds", type=float, default=120.0)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--show", action="store_true", help="print the console's last screen")
    args = parser.parse_args()
    for tool in ("tmux", "ffmpeg", "HandBrakeCLI"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench_attached_cost: {tool} is needed")

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    tmux = Tmux()
    root = Path(tempfile.mkdtemp(prefix="ponybench-attached-"))
    serve: subprocess.Popen[bytes] | None = None
    try:
        settings = prepare(root, args.jobs, args.clip_seconds)
        options = [
            "--data-dir", str(settings.data_dir), "--inbox", str(settings.inbox_dir),
            "--output-dir", str(settings.output_dir), "--pony", PONY,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("PONYCONSOLE_")}
        env["PONYCONSOLE_CONFIG"] = os.devnull
        log = (root / "serve.log").open("wb")
        serve = subprocess.Popen(
            [str(BIN / "ponyconsole"), "serve", *options],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while b"HandBrake pid" not in (root / "serve.log").read_bytes():
            if time.monotonic() > deadline or serve.poll() is not None:
                raise SystemExit(
                    "serve did not start encoding:\n" + (root / "serve.log").read_text()
                )
            time.sleep(0.1)
        console = Pane(
            "console (attached)", "console",
            [str(BIN / "ponyconsole"), "console", *options], marker="attached to serve",
        )  # fmt: skip
        baseline = Pane(
            "idle Textual app",
            "baseline",
            [sys.executable, str(ROOT / "bench" / "idle_textual_app.py")],
            marker="idle baseline app",
        )
        panes = [baseline, console]
        for pane in panes:
            started = time.monotonic()
            tmux.start(pane, args.width, args.height)
            wait_first_paint(tmux, pane, started)
        headless = subprocess.Popen(
            [sys.executable, "-c", HEADLESS, *options[1::2]],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert headless.stdout is not None
        owner = headless.stdout.readline().decode().strip()
        if not owner.startswith("serve"):
            raise SystemExit(f"the headless backend did not attach to serve: {owner!r}")
        time.sleep(2.0)
        others = {"serve (without HandBrake)": psutil.Process(serve.pid)}
        others["attached backend, no UI"] = psutil.Process(headless.pid)
        before = {label: own_cpu(proc) for label, proc in others.items()}
        window = measure(tmux, panes, args.seconds)
        used = {label: own_cpu(proc) - before[label] for label, proc in others.items()}
        others_rss = {label: proc.memory_info().rss for label, proc in others.items()}
        headless.terminate()
        headless.wait(timeout=30)
        screen = tmux.capture(console.session)
        still = b"Encoding Now.mp4 succeeded" not in (root / "serve.log").read_bytes()
        # Then serve stops: the console takes the queue over and encodes itself. Its own
        # CPU (not its HandBrake child's) over a second window, for comparison.
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
        deadline = time.monotonic() + 30
        while "attached to" in tmux.capture(console.session).splitlines()[0]:
            if time.monotonic() > deadline:
                raise SystemExit("the console did not take the queue over after serve stopped")
            time.sleep(0.2)
        time.sleep(5.0)  # the re-run starts, its first progress arrives
        assert console.proc is not None
        owner_start, owner_t0 = own_cpu(console.proc), time.monotonic()
        time.sleep(args.seconds)
        owner_cpu = own_cpu(console.proc) - owner_start
        owner_window = time.monotonic() - owner_t0
        owner_rss = console.proc.memory_info().rss
    finally:
        tmux.kill_server()
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        shutil.rmtree(root, ignore_errors=True)

    def pct(cpu: float) -> float:
        return 100.0 * cpu / window

    print()
    print(
        f"Console attached to serve (encoding, {args.jobs} jobs queued), {args.width}x"
        f"{args.height} tmux pane, {window:.1f} s window side by side "
        f"(Python {sys.version.split()[0]})"
    )
    header = f"{'':<28}{'first paint s':>14}{'CPU s':>8}{'% of a core':>13}{'RSS MiB':>9}"
    print(header)
    print("-" * len(header))
    for pane in panes:
        cpu = pane.cpu_end - pane.cpu_start
        rss = max(pane.rss_samples) / 2**20
        print(
            f"{pane.label:<28}{pane.first_paint or 0:>14.2f}{cpu:>8.2f}{pct(cpu):>13.2f}{rss:>9.1f}"
        )
    for label, cpu in used.items():
        print(f"{label:<28}{'':>14}{cpu:>8.2f}{pct(cpu):>13.2f}{others_rss[label] / 2**20:>9.1f}")
    owner_pct = 100.0 * owner_cpu / owner_window
    print(
        f"{'then console as owner':<28}{'':>14}{owner_cpu:>8.2f}{owner_pct:>13.2f}"
        f"{owner_rss / 2**20:>9.1f}  (serve stopped, the console took over; own CPU)"
    )
    print("-" * len(header))
    console_pct = pct(console.cpu_end - console.cpu_start)
    console_mb = max(console.rss_samples) / 1e6
    print(
        f"targets for the attached console: CPU <= {TARGET_CPU:g} % of a core: "
        f"{'met' if console_pct <= TARGET_CPU else 'MISSED'}; RSS <= {TARGET_RSS:g} MB: "
        f"{'met' if console_mb <= TARGET_RSS else 'MISSED'}"
    )
    if not still:
        print("warning: the encode finished inside the window; use a longer --clip-seconds")
    if args.show:
        print("\nthe console at the end of the window:\n" + screen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
