"""Processes the queue refers to: the console owning a job, and HandBrake process groups.

A pid alone is not an identity (pids are recycled, after a power cut soon),
so an owner is (pid, start time) and a group is only killed when its leader
is a HandBrake.
"""

from __future__ import annotations

import os
import signal
import time

import psutil


def this_process() -> tuple[int, float]:
    proc = psutil.Process()
    return proc.pid, proc.create_time()


def process_alive(pid: int | None, started: float | None) -> bool:
    """True when pid runs and is the same process (same start time), zombies counted dead."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - started) > 1.0:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_group(pgid: int, pid: int | None = None, grace: float = 3.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace`` seconds.

    Works for groups that are not our children (an orphan of a dead console),
    so waiting is by polling, not waitpid.
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    except PermissionError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def is_handbrake(pid: int | None) -> bool:
    """Guard against a recycled pid: only kill a group led by a HandBrake process."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        return "handbrake" in " ".join([*proc.cmdline()[:1], proc.name()]).lower()
    except psutil.Error:
        return False
