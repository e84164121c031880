"""Real HandBrakeCLI text output, captured once with its timing, replayed at its real pace.

A bench that needs pod logs growing like a running transcode's runs the real HandBrakeCLI
once on a short clip (made with the real ffmpeg), records every progress update it prints
with the time it arrived, and caches that capture. :class:`LogFeeder` then appends the
captured lines to CRI log files (what kwok serves as pod logs) with the captured gaps
between them, looping, until stopped.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cluster.binaries import cache_dir
from cluster.crilog import append_cri_log
from ponyconsole.demo import make_clip

_SPLIT = re.compile(r"[\r\n]+")


@dataclass(frozen=True)
class Capture:
    """HandBrakeCLI's stdout as (seconds since the first line, line) pairs, and its version."""

    version: str
    lines: list[tuple[float, str]]

    @property
    def rate(self) -> float:
        """Lines a second while HandBrake was printing."""
        if len(self.lines) < 2:
            return 0.0
        span = self.lines[-1][0] - self.lines[0][0]
        return (len(self.lines) - 1) / span if span > 0 else 0.0


def handbrake_version() -> str:
    if shutil.which("HandBrakeCLI") is None:
        raise SystemExit("HandBrakeCLI is needed (scripts/install-system-deps)")
    done = subprocess.run(
        ["HandBrakeCLI", "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    for line in (done.stdout + done.stderr).splitlines():
        if line.startswith("HandBrake "):
            return line.split()[1]
    return "unknown"


def capture_handbrake(seconds: float = 30.0, timeout: float = 300.0) -> Capture:
    """Run HandBrakeCLI (text output, x264) on a fresh clip; every stdout line with its time."""
    version = handbrake_version()
    with tempfile.TemporaryDirectory(prefix="ponybench-hb-") as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", seconds=seconds)
        argv = [
            "HandBrakeCLI", "-i", str(clip), "-o", str(Path(tmp) / "out.mp4"),
            "-e", "x264", "--x264-preset", "veryslow", "-E", "copy:aac",
        ]  # fmt: skip
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        lines: list[tuple[float, str]] = []
        pending = ""
        t0: float | None = None
        deadline = time.monotonic() + timeout
        try:
            while True:
                if time.monotonic() > deadline:
                    raise SystemExit(f"HandBrakeCLI did not finish within {timeout:g} s")
                ready, _, _ = select.select([fd], [], [], 1.0)
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                now = time.monotonic()
                pending += chunk.decode("utf-8", "replace")
                *done, pending = _SPLIT.split(pending)
                for line in done:
                    if line.strip():
                        t0 = now if t0 is None else t0
                        lines.append((now - t0, line))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        if pending.strip():
            lines.append(((lines[-1][0] if lines else 0.0), pending))
    if proc.returncode != 0 or len(lines) < 10:
        raise SystemExit(f"HandBrakeCLI exited {proc.returncode} after {len(lines)} lines")
    return Capture(version, lines)


def cached_capture() -> Capture:
    """The capture of this HandBrakeCLI version, made once and kept under the cluster cache."""
    version = handbrake_version()
    path = cache_dir().parent / "bench" / f"handbrake-{version}-text.json"
    if path.exists():
        data = json.loads(path.read_text())
        return Capture(data["version"], [(float(t), str(s)) for t, s in data["lines"]])
    print(f"capturing real HandBrakeCLI {version} output once (into {path}) ...", flush=True)
    cap = capture_handbrake()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"version": cap.version, "lines": cap.lines}))
    partial.replace(path)
    return cap


class LogFeeder:
    """A thread appending a capture's lines to CRI log files at the captured pace, looping."""

    def __init__(self, capture: Capture, files: Sequence[Path]) -> None:
        self.capture = capture
        self.files = list(files)
        self.appended = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-feeder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        lines = self.capture.lines
        span = lines[-1][0] + 0.25  # one update interval before the loop starts over
        loop_start = time.monotonic()
        i = 0
        while not self._stop.is_set():
            due = loop_start + lines[i][0]
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            for f in self.files:
                append_cri_log(f, [lines[i][1]])
            self.appended += 1
            i += 1
            if i == len(lines):
                i = 0
                loop_start += span
