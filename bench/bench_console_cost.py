"""What the console costs in local mode, idle or encoding, against a minimal idle Textual app.

Scenario "idle": a temp data dir whose SQLite queue holds 200 jobs (inserted
with JobQueue's own API, most of them finished, the rest queued on a cordoned
pony so nothing encodes). Scenario "encode": the same queue with the pony
uncordoned and one more job, a real HandBrake encode of a 1280x720 clip made
by ffmpeg (testsrc, 120 s), which runs for the whole window. Either way the
real `ponyconsole console` runs in a detached tmux pane (160x48) and next to
it a minimal Textual app (bench/idle_textual_app.py) in the same kind of pane.
Both are measured over the same window: process CPU (% of one core) and RSS.
Idle, a process counts with its children; encoding, the console counts alone
(its pid only, so HandBrake, which runs in its own process group, is left
out). Reported as a ratio, since this machine is noisy. Issue targets: console
<= 2 % of a core idle, <= 1 % with an encode running, <= 100 MB.

    .venv/bin/python bench/bench_console_cost.py [--scenario idle|encode] [--seconds 30]

Measured on the 2-core dev machine (load 11-30 from other work), 30 s windows, the
console before and after the update-cost work of issue 10 run back to back:
encoding, 6.50-6.79 % of a core before, 1.13 % after (idle Textual app 0.07-0.10 %);
idle, 0.77 % before, 0.70 % after. `--profile FILE` samples the console with py-spy.
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
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ponyconsole.backends.local.backend import _CORDONED_KEY
from ponyconsole.backends.local.queue import JobQueue, job_id_for
from ponyconsole.backends.local.settings import LocalSettings
from ponyconsole.domain.models import JobState

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PONY = "benchpony"
NAME = "Bench Movie"  # every job's name starts with this; its appearance is the first paint
TARGET_CPU = {"idle": 2.0, "encode": 1.0}  # % of one core
CLIP_SECONDS = 120  # long enough that the encode outlasts start-up and the window
ENCODE_PRESET = "Fast 1080p30"
TARGET_RSS = 100.0  # MB (reported in MiB, which is stricter)


def make_clip(path: Path, seconds: int) -> None:
    """A 1280x720 test pattern with a tone, encoded fast so making it takes seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", f"testsrc=size=1280x720:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
        timeout=300,
    )  # fmt: skip


def prepare_queue(root: Path, count: int, encode: bool = False) -> LocalSettings:
    """A queue of `count` jobs: 60 % succeeded, 10 % failed, 10 % cancelled, the rest queued.

    With `encode`, the pony is left uncordoned and the first job in line is a real clip,
    so the console starts encoding it as soon as it opens.
    """
    settings = LocalSettings.load(
        data_dir=root / "data",
        inbox_dir=root / "inbox",
        output_dir=root / "library",
        pony_name=PONY,
        env={},
    )
    settings.ensure_dirs()
    (settings.inbox_dir / "movies").mkdir(parents=True, exist_ok=True)
    t0 = time.time() - 2 * 86400
    with JobQueue(settings.db_path) as queue:
        ids = []
        for i in range(count):
            source = settings.inbox_dir / "movies" / f"{NAME} {i + 1:03d}.mkv"
            size = 4_000_000_000 + i
            job_id = job_id_for("movies", str(source), size, None)
            queue.enqueue(
                job_id=job_id,
                source=str(source),
                library="movies",
                preset=settings.default_preset,
                title=None,
                output=str(settings.output_dir / "movies" / f"{source.stem}.mkv"),
                source_size=size,
                source_duration=5400.0 + i,
                now=t0 + i * 60,
            )
            ids.append(job_id)
        succeeded, failed, cancelled = int(count * 0.6), int(count * 0.1), int(count * 0.1)
        for i in range(succeeded + failed):
            claimed = queue.claim_next(PONY, now=t0 + i * 600)
            assert claimed is not None
            state = JobState.SUCCEEDED if i < succeeded else JobState.FAILED
            reason = None if state is JobState.SUCCEEDED else "HandBrake exited with code 3"
            queue.finish(claimed.job.id, state, reason, (), now=t0 + i * 600 + 540)
        for job_id in ids[succeeded + failed : succeeded + failed + cancelled]:
            queue.cancel(job_id, now=t0 + 86400)
        if encode:
            clip = settings.inbox_dir / "movies" / "Bench Encode.mkv"
            make_clip(clip, CLIP_SECONDS)
            queue.enqueue(
                job_id=job_id_for("movies", str(clip), clip.stat().st_size, None),
                source=str(clip),
                library="movies",
                preset=ENCODE_PRESET,
                title=None,
                output=str(settings.output_dir / "movies" / "Bench Encode.mkv"),
                source_size=clip.stat().st_size,
                source_duration=float(CLIP_SECONDS),
                now=t0 - 3600,  # first in line: older than every queued job
            )
            # The other queued jobs point at files that do not exist: keep them out of the
            # runner's way by cancelling them, so exactly one encode runs.
            for row in queue.all():
                if row.job.state is JobState.QUEUED and row.job.source != str(clip):
                    queue.cancel(row.job.id, now=t0 + 86400)
        else:
            queue.set_setting(_CORDONED_KEY, "1")  # the way LocalBackend.set_cordoned stores it
        states: dict[str, int] = {}
        for row in queue.all():
            states[row.job.state.value] = states.get(row.job.state.value, 0) + 1
    pony = "encoding one clip" if encode else "cordoned"
    print("queue: " + ", ".join(f"{n} {s}" for s, n in states.items()) + f"; pony {PONY} {pony}")
    return settings


@dataclass
class Pane:
    label: str
    session: str
    argv: list[str]
    marker: str
    alone: bool = False  # count the process alone, not its children (HandBrake)
    proc: psutil.Process | None = None
    first_paint: float | None = None
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    rss_peak: int = 0
    rss_samples: list[int] = field(default_factory=list)


class Tmux:
    """A private tmux server (own socket), so the bench never touches anyone else's sessions."""

    def __init__(self) -> None:
        self.socket = f"ponybench-{os.getpid()}"

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(self, pane: Pane, width: int, height: int) -> None:
        self.run(
            "new-session", "-d", "-s", pane.session, "-x", str(width), "-y", str(height),
            "-e", "TERM=xterm-256color", *pane.argv,
        )  # fmt: skip
        pid = int(self.run("display-message", "-p", "-t", pane.session, "#{pane_pid}").strip())
        pane.proc = psutil.Process(pid)

    def capture(self, session: str) -> str:
        return self.run("capture-pane", "-p", "-t", session)

    def kill_server(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        tmpdir = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (tmpdir / self.socket).unlink(missing_ok=True)  # the server may leave its socket file


def tree(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return [proc]


def cpu_seconds(proc: psutil.Process, alone: bool = False) -> float:
    """User + system CPU of the process (all its threads), with or without its children."""
    if alone:
        t = proc.cpu_times()
        return t.user + t.system
    total = 0.0
    for i, p in enumerate(tree(proc)):
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
        if i == 0:
            total += t.children_user + t.children_system
    return total


def rss_bytes(proc: psutil.Process, alone: bool = False) -> int:
    total = 0
    for p in [proc] if alone else tree(proc):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def wait_first_paint(tmux: Tmux, pane: Pane, started: float, timeout: float = 60.0) -> None:
    deadline = started + timeout
    while time.monotonic() < deadline:
        if pane.marker in tmux.capture(pane.session):
            pane.first_paint = time.monotonic() - started
            return
        assert pane.proc is not None
        if not pane.proc.is_running() or pane.proc.status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.02)
    screen = tmux.capture(pane.session)
    raise SystemExit(f"{pane.label}: no first paint after {timeout:g} s; pane shows:\n{screen}")


def handbrakes(proc: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in tree(proc)[1:]:
        try:
            if "HandBrakeCLI" in child.name():
                found.append(child)
        except psutil.Error:
            continue
    return found


def wait_encoding(tmux: Tmux, pane: Pane, timeout: float = 60.0) -> psutil.Process:
    """The console's HandBrakeCLI, once it runs (the runner claims the job after start-up)."""
    assert pane.proc is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = handbrakes(pane.proc)
        if found:
            return found[0]
        time.sleep(0.2)
    screen = tmux.capture(pane.session)
    raise SystemExit(f"no HandBrakeCLI under the console after {timeout:g} s; it shows:\n{screen}")


def measure(tmux: Tmux, panes: list[Pane], seconds: float) -> float:
    """CPU of every pane over one shared window; RSS sampled each second."""
    for pane in panes:
        assert pane.proc is not None
        pane.cpu_start = cpu_seconds(pane.proc, pane.alone)
    t0 = time.monotonic()
    end = t0 + seconds
    while (now := time.monotonic()) < end:
        time.sleep(min(1.0, end - now))
        for pane in panes:
            assert pane.proc is not None
            pane.rss_samples.append(rss_bytes(pane.proc, pane.alone))
    for pane in panes:
        assert pane.proc is not None
        pane.cpu_end = cpu_seconds(pane.proc, pane.alone)
        if not pane.proc.is_running() or pane.proc.status() == psutil.STATUS_ZOMBIE:
            raise SystemExit(f"{pane.label} exited during the measurement")
    return time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("idle", "encode"), default="idle")
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--jobs", type=int, default=200, help="jobs in the queue")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--show", action="store_true", help="print the console's last screen")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="also sample the console with py-spy (200 Hz) over the window, collapsed stacks "
        "into FILE (needs py-spy: pip install py-spy; it adds its own cost to the figures)",
    )
    args = parser.parse_args()
    encode = args.scenario == "encode"
    tools = ["tmux", "ffmpeg", "HandBrakeCLI"] if encode else ["tmux"]
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    for tool in tools + ([py_spy] if args.profile else []):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench_console_cost: {tool} is needed")

    # SIGTERM / SIGHUP must still clean up (tmux server, temp dir).
    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    tmux = Tmux()
    root = Path(tempfile.mkdtemp(prefix="ponybench-console-"))
    try:
        settings = prepare_queue(root, args.jobs, encode=encode)
        console = Pane(
            "ponyconsole console",
            "console",
            [
                str(BIN / "ponyconsole"), "console",
                "--data-dir", str(settings.data_dir),
                "--inbox", str(settings.inbox_dir),
                "--output-dir", str(settings.output_dir),
                "--pony", PONY,
            ],
            marker=NAME,
            alone=encode,
        )  # fmt: skip
        baseline = Pane(
            "idle Textual app",
            "baseline",
            [sys.executable, str(ROOT / "bench" / "idle_textual_app.py")],
            marker="idle baseline app",
        )
        panes = [baseline, console]
        for pane in panes:  # one after the other, so they do not slow each other's start
            started = time.monotonic()
            tmux.start(pane, args.width, args.height)
            wait_first_paint(tmux, pane, started)
        handbrake = wait_encoding(tmux, console) if encode else None
        time.sleep(2.0)  # let start-up work (preset list, first metrics) settle
        spy = None
        if args.profile:
            assert console.proc is not None
            spy = subprocess.Popen(
                [py_spy, "record", "--pid", str(console.proc.pid), "--rate", "200",
                 "--duration", str(round(args.seconds)), "--format", "raw",
                 "--output", args.profile, "--nonblocking"],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        window = measure(tmux, panes, args.seconds)
        if spy is not None:
            spy.wait(timeout=60)
        screen = tmux.capture(console.session)
        if handbrake is not None and not handbrake.is_running():
            raise SystemExit("the encode ended inside the window: make the clip longer")
    finally:
        tmux.kill_server()
        shutil.rmtree(root, ignore_errors=True)

    def pct(pane: Pane) -> float:
        return 100.0 * (pane.cpu_end - pane.cpu_start) / window

    def mib(pane: Pane) -> float:
        return max(pane.rss_samples) / 2**20

    print()
    print(
        f"Console cost ({'one encode running, console pid alone' if encode else 'idle'}), "
        f"{args.jobs} jobs, {args.width}x{args.height} tmux pane, "
        f"{window:.1f} s window measured side by side (Python {sys.version.split()[0]})"
    )
    header = f"{'':<24}{'first paint s':>14}{'CPU s':>8}{'% of a core':>13}{'RSS MiB':>9}"
    print(header)
    print("-" * len(header))
    for pane in panes:
        print(
            f"{pane.label:<24}{pane.first_paint or 0:>14.2f}{pane.cpu_end - pane.cpu_start:>8.2f}"
            f"{pct(pane):>13.2f}{mib(pane):>9.1f}"
        )
    print("-" * len(header))
    base_pct = pct(baseline)
    cpu_ratio = f"{pct(console) / base_pct:.1f}x" if base_pct > 0 else "n/a"
    paint_ratio = f"{(console.first_paint or 0) / (baseline.first_paint or 1):.1f}x"
    print(
        f"{'console / baseline':<24}{paint_ratio:>14}{'':>8}{cpu_ratio:>13}"
        f"{mib(console) / mib(baseline):>8.1f}x"
    )
    if base_pct == 0:
        print("(baseline used no measurable CPU: under one 10 ms tick in the window)")
    target_cpu = TARGET_CPU[args.scenario]
    cpu_ok = pct(console) <= target_cpu
    rss_ok = mib(console) * 2**20 <= TARGET_RSS * 1e6
    print(
        f"targets: CPU <= {target_cpu:g} % of a core: {'met' if cpu_ok else 'MISSED'}; "
        f"RSS <= {TARGET_RSS:g} MB: {'met' if rss_ok else 'MISSED'}"
    )
    if args.show:
        print("\nthe console at the end of the window:\n" + screen)
    if NAME not in screen:
        print("warning: the console no longer shows the jobs at the end of the window")
    return 0


if __name__ == "__main__":
    sys.exit(main())
