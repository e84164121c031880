"""`ponyconsole demo`: the console in local mode with a few real clips to encode.

The clips are made once with ffmpeg in a demo folder of their own (never the
user's real queue) and enqueued through the backend, exactly as `e` would.
One of them is a broken rip, so the demo also shows a failure and `r`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import platformdirs

from ponyconsole.backends.protocol import Backend, BackendError
from ponyconsole.domain.models import EnqueueRequest

DEMO_PRESET = "Very Fast 720p30"

# name, seconds, size: long enough to watch the bar move on a small machine
CLIPS: tuple[tuple[str, float, str], ...] = (
    ("Big Buck Pony (2008).mp4", 90.0, "1280x720"),
    ("The Pony Express (1925).mkv", 40.0, "960x540"),
    ("Friendship Is Magic S01E01.mp4", 25.0, "640x360"),
)
BROKEN = "Half-Copied Rip.mkv"


def make_clip(path: Path, seconds: float = 8.0, size: str = "320x240", rate: int = 25) -> Path:
    """Write an H.264/AAC clip of a moving test pattern and a tone with the real ffmpeg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(partial),
        ],
        check=True,
    )  # fmt: skip
    partial.replace(path)
    return path


def settle(path: Path, age: float = 60.0) -> Path:
    """Age a file's mtime past the inbox's settle time: a finished copy, not one in progress."""
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime - age))
    return path


def copy_settled(src: Path, dest: Path) -> Path:
    """Copy a rip into an inbox as a finished copy (the tests and benchmarks drop rips so)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return settle(dest)


def prepare_inbox(inbox: Path) -> list[Path]:
    """Make the demo clips that are missing; return every demo rip's path."""
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ponyconsole demo: ffmpeg is needed to make the demo clips (make demo)")
    library = inbox / "movies"
    paths = []
    for i, (name, seconds, size) in enumerate(CLIPS, 1):
        path = library / name
        if not path.exists():
            print(f"making demo clip {i}/{len(CLIPS)} with ffmpeg: {name}", flush=True)
            make_clip(path, seconds, size)
        paths.append(path)
    broken = library / BROKEN
    if not broken.exists():
        broken.write_bytes(b"\x1aE\xdf\xa3" + os.urandom(64 * 1024))  # an MKV header, then noise
    paths.append(broken)
    # Settled already: an old mtime tells the inbox these are not being copied.
    return [settle(path) for path in paths]


def enqueuer(paths: list[Path], preset: str):  # type: ignore[no-untyped-def]
    async def enqueue_all(backend: Backend) -> str:
        done, refused = 0, []
        for path in paths:
            try:
                await backend.enqueue(EnqueueRequest(str(path), "movies", preset))
                done += 1
            except BackendError as error:
                refused.append(f"{path.name}: {error}")
        if refused:
            raise BackendError("demo: " + "; ".join(refused))
        return f"Demo: {done} rips in the queue. ? shows every key."

    return enqueue_all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(platformdirs.user_data_dir("ponyconsole")) / "demo",
        help="demo data folder (default: the ponyconsole data dir's demo/)",
    )
    parser.add_argument("--preset", default=DEMO_PRESET, help=f"HandBrake preset ({DEMO_PRESET})")
    parser.add_argument("--fresh", action="store_true", help="start over with an empty demo queue")


def run(args: argparse.Namespace) -> int:
    from ponyconsole.backends.local.backend import LocalBackend
    from ponyconsole.backends.local.config_file import ConfigError
    from ponyconsole.backends.local.settings import LocalSettings
    from ponyconsole.ui.app import PonyConsole

    if shutil.which("HandBrakeCLI") is None:
        print(
            "ponyconsole demo: HandBrakeCLI is not installed (make demo installs it)",
            file=sys.stderr,
        )
        return 1
    root: Path = args.dir
    if args.fresh:
        shutil.rmtree(root / "data", ignore_errors=True)
    paths = prepare_inbox(root / "inbox")
    try:
        settings = LocalSettings.load(
            data_dir=root / "data", inbox_dir=root / "inbox", output_dir=root / "library"
        )
    except ConfigError as error:
        print(f"ponyconsole demo: config file: {error}", file=sys.stderr)
        return 2
    PonyConsole(LocalBackend(settings), startup=enqueuer(paths, args.preset)).run()
    print(f"demo outputs are in {root / 'library'}")
    return 0
