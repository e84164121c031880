"""kill_group on real process groups: TERM, then KILL after the grace, waiting on the group only."""

from __future__ import annotations

import asyncio
import subprocess
import time

import psutil

from ponyconsole.backends.local.processes import kill_group


def _group(script: str) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """A shell in its own session with two children; returns it once all three run."""
    leader = subprocess.Popen(["sh", "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(children := psutil.Process(leader.pid).children()) < 2:
        assert time.monotonic() < deadline, "the test group did not start within 10 s"
        time.sleep(0.02)
    return leader, [psutil.Process(leader.pid), *children]


def _gone(procs: list[psutil.Process]) -> bool:
    return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs)


def test_a_group_that_ignores_term_is_killed_after_the_grace() -> None:
    leader, members = _group('trap "" TERM; sleep 60 & sleep 60 & wait')
    try:
        start = time.monotonic()
        kill_group(leader.pid, grace=0.5)
        took = time.monotonic() - start
        assert _gone(members)
        assert 0.5 <= took < 3.0, took
        assert leader.wait(timeout=5) == -9
    finally:
        leader.kill()
        leader.wait(timeout=5)


def test_a_group_that_obeys_term_is_not_waited_for() -> None:
    leader, members = _group("sleep 60 & sleep 60 & wait")
    start = time.monotonic()
    kill_group(leader.pid, grace=5.0)
    assert time.monotonic() - start < 2.0
    assert _gone(members)
    assert leader.wait(timeout=5) == -15


def test_a_gone_group_is_a_no_op() -> None:
    leader = subprocess.Popen(["true"], start_new_session=True)
    leader.wait(timeout=5)
    kill_group(leader.pid)  # no such group any more: returns, raises nothing


async def test_our_own_child_keeps_its_exit_status_for_asyncio() -> None:
    """kill_group never reaps: asyncio's child watcher gets the real status, not 255."""
    for _ in range(10):  # reaping behind asyncio's back was a race: 6 in 30 with wait_procs
        proc = await asyncio.create_subprocess_exec("sleep", "60", start_new_session=True)
        await asyncio.to_thread(kill_group, proc.pid)
        assert await asyncio.wait_for(proc.wait(), 10) == -15
