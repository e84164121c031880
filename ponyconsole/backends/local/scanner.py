"""`HandBrakeCLI --scan --json` with a timeout, and a cache keyed by (path, size, mtime).

Blocking: call from a thread. Used for the inbox (titles, main feature) and
to check the duration of a finished encode before it is accepted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

from ponyconsole.domain.handbrake_scan import ScanError, parse_scan
from ponyconsole.domain.models import Title


class ScanFailed(Exception):
    """The rip could not be scanned; the message is HandBrake's reason or the timeout."""


def _last_reason(stderr: str) -> str | None:
    """HandBrake's own complaint, e.g. 'No title found.', from the end of its log."""
    for line in reversed(stderr.splitlines()):
        line = line.strip()
        if line and not line.startswith("[") and line != "HandBrake has exited.":
            return line
    return None


def scan_titles(handbrake: str, path: str | Path, timeout: float = 60.0) -> tuple[Title, ...]:
    argv = [handbrake, "--scan", "--json", "-t", "0", "-i", os.fspath(path)]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ScanFailed(f"HandBrake scan timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise ScanFailed(f"cannot run {handbrake}: {exc.strerror or exc}") from exc
    try:
        return parse_scan(done.stdout)
    except ScanError as exc:
        reason = _last_reason(done.stderr.decode("utf-8", "replace")) or str(exc)
        raise ScanFailed(f"HandBrake: {reason}" if "HandBrake" not in reason else reason) from exc


def media_duration(handbrake: str, path: str | Path, timeout: float = 60.0) -> float:
    """Seconds of a finished output file.

    ffprobe when it is there (ffmpeg is a declared dependency): it answers in
    about 0.05 s where a HandBrake scan takes 0.3 s of probing for discs,
    which bench/bench_runner_overhead.py showed as most of the runner's cost.
    """
    ffprobe = shutil.which("ffprobe")
    if ffprobe is not None:
        argv = [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"]
        try:
            done = subprocess.run(
                [*argv, "-i", os.fspath(path)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.returncode == 0:
            try:
                return float(done.stdout.decode("ascii", "replace").strip())
            except ValueError:
                pass  # "N/A" or nothing: let HandBrake have a look
    titles = scan_titles(handbrake, path, timeout)
    return max((t.duration_seconds for t in titles), default=0.0)


class ScanCache:
    """Scans each (path, size, mtime) once; a rip that changes is scanned again."""

    def __init__(self, handbrake: str, timeout: float = 60.0) -> None:
        self.handbrake = handbrake
        self.timeout = timeout
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int, float], tuple[Title, ...] | ScanFailed] = {}

    def scan(self, path: str, size: int, mtime: float) -> tuple[Title, ...]:
        key = (path, size, mtime)
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            try:
                hit = scan_titles(self.handbrake, path, self.timeout)
            except ScanFailed as exc:
                hit = exc
            with self._lock:
                self._cache[key] = hit
        if isinstance(hit, ScanFailed):
            raise hit
        return hit


def list_presets(handbrake: str, timeout: float = 30.0) -> list[str]:
    """Built-in preset names from `HandBrakeCLI --preset-list` (names are indented 4 spaces)."""
    try:
        done = subprocess.run(
            [handbrake, "--preset-list"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    return [
        line.strip()
        for line in text.splitlines()
        if line.startswith("    ") and not line.startswith("     ") and line.strip()
    ]
