"""The processes of the pony test cluster, by their pids: alive?, kill, memory, run again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def kill_pid(pid: int, timeout: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``, one process by its pid.

    ``timeout <= 0``: SIGKILL at once, like a crash or a power cut.
    """
    if timeout <= 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def rss_bytes(pid: int) -> int:
    """Resident memory (bytes) of a process; 0 if /proc does not say."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Command:
    """How a process was started: enough to start it again the same way."""

    argv: list[str]
    cwd: str
    env: dict[str, str]

    @classmethod
    def of_pid(cls, pid: int) -> Command:
        """The command line, working folder and environment of a running process."""
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        cwd = os.readlink(f"/proc/{pid}/cwd")
        env_raw = Path(f"/proc/{pid}/environ").read_bytes().rstrip(b"\0").split(b"\0")
        env = dict(e.decode().split("=", 1) for e in env_raw if b"=" in e)
        return cls([a.decode() for a in argv], cwd, env)

    def spawn(self, log: Path) -> subprocess.Popen[bytes]:
        """Start the command in a session of its own, appending its output to ``log``."""
        with log.open("ab") as out:
            return subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
