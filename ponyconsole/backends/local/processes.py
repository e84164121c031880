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


def kill_group(pgid: int, grace: float = 3.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace`` seconds.

    Works for groups that are not our children (an orphan of a dead console).
    The group's processes are found once; waiting watches only them.
    """
    members = _members(pgid)
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    if not _wait_gone(members, grace):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _wait_gone(members, grace)


def _members(pgid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of ``procs`` still alive after up to ``timeout`` seconds (zombies are gone).

    Not ``psutil.wait_procs``: it reaps our own children with waitpid, stealing
    the exit status from asyncio's child watcher (the runner's HandBrake).
    """
    deadline = time.monotonic() + timeout
    while True:
        procs = [p for p in procs if _running(p)]
        if not procs or time.monotonic() >= deadline:
            return procs
        time.sleep(0.05)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
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
