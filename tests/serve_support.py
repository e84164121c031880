"""Real `ponyconsole serve` processes and queue commands for tests; every wait has a deadline."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.local_support import TEST_PRESET

ROOT = Path(__file__).resolve().parents[1]


def local_options(root: Path) -> list[str]:
    """The same queue as tests.local_support.settings_for(root)."""
    return [
        "--data-dir", str(root / "data"), "--inbox", str(root / "inbox"),
        "--output-dir", str(root / "library"), "--pony", "testpony",
    ]  # fmt: skip


def write_config(root: Path, handbrake: str | None = None) -> Path:
    """A hermetic config file: the tests' fast preset, a short settle time."""
    path = root / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[local]", f'preset = "{TEST_PRESET}"', "settle_seconds = 1"]
    if handbrake:
        lines.append(f'handbrake = "{handbrake}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def env_for(root: Path) -> dict[str, str]:
    config = root / "config.toml"
    if not config.exists():
        write_config(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PONYCONSOLE_")}
    return {**env, "PONYCONSOLE_CONFIG": str(config)}


def ponyconsole(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """One queue command as a real process, on the test's queue."""
    return subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", *args, *local_options(root)],
        cwd=ROOT, env=env_for(root), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def handbrake_wrapper(root: Path, real: str | None = None) -> tuple[Path, Path]:
    """A HandBrakeCLI that logs "start <pid> <argv>" to a file and execs the real one.

    It execs (same pid) so the queue's pid, process group and recovery see the
    real HandBrake; the end of a run is therefore read from the job's outcome.
    """
    real = real or shutil.which("HandBrakeCLI")
    assert real, "HandBrakeCLI is needed (scripts/install-system-deps)"
    folder = root / "hbwrap"
    folder.mkdir(parents=True, exist_ok=True)
    log = root / "handbrake-runs.log"
    script = folder / "HandBrakeCLI"
    script.write_text(f'#!/bin/sh\necho "start $$ $*" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    return script, log


def encode_starts(log: Path) -> list[tuple[int, str]]:
    """(pid, argv) of every encode the wrapper started (scans and preset lists left out)."""
    if not log.exists():
        return []
    starts = []
    for line in log.read_text().splitlines():
        _start, pid, argv = line.split(" ", 2)
        if " -o " in f" {argv} ":
            starts.append((int(pid), argv))
    return starts


class Serve:
    """`ponyconsole serve` in its own process; its stderr lines are collected as they come."""

    def __init__(self, root: Path, *extra: str) -> None:
        self.root = root
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ponyconsole.cli", "serve", *local_options(root), *extra],
            cwd=ROOT, env=env_for(root), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, pattern: str, timeout: float = 60.0, after: int = 0) -> re.Match[str]:
        """The first line (from index `after`) matching `pattern`; fails with the log."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[after:]:
                    if found := regex.search(line):
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    log = "\n".join(self.lines)
                    raise AssertionError(f"serve never logged /{pattern}/ in {timeout} s:\n{log}")
                self._cond.wait(min(left, 0.2))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"serve did not stop within {timeout} s on {sig}") from None
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
