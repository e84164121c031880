"""The owner lock: one holder at a time, named to the others, freed by the kernel on kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ponyconsole.backends.local.owner_lock import Holder, OwnerLock

HOLD = """
import sys, time
from pathlib import Path
from ponyconsole.backends.local.owner_lock import OwnerLock
lock = OwnerLock(Path(sys.argv[1]), "serve")
assert lock.try_acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_one_holder_at_a_time_named_to_the_others(tmp_path: Path) -> None:
    first, second = OwnerLock(tmp_path, "console"), OwnerLock(tmp_path, "serve")
    assert second.holder() is None  # no lock file yet
    assert first.try_acquire() and first.held
    assert not second.try_acquire() and not second.held
    assert second.holder() == Holder(os.getpid(), "console")
    assert str(second.holder()) == f"console (pid {os.getpid()})"
    assert first.try_acquire()  # holding it already
    first.release()
    assert second.holder() is None
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_kill_9_of_the_holder_frees_the_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        mine = OwnerLock(tmp_path, "console")
        assert not mine.try_acquire()
        assert mine.holder() == Holder(holder.pid, "serve")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        assert mine.holder() is None
        assert mine.try_acquire()
        mine.release()
    finally:
        holder.kill()
        holder.wait(timeout=10)
