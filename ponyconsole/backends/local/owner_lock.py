"""One queue, one runner: an OS lock on a file in the data dir decides who encodes.

``fcntl.flock`` on ``runner.lock``, held for the owner's life: the kernel
releases it when the process dies however it dies (kill -9, power cut), so a
lock is never stale. The holder writes "<pid> <role>" into the file, which is
how the others can say who runs the queue ("serve (pid 1234)").
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "runner.lock"


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int
    role: str

    def __str__(self) -> str:
        return f"{self.role} (pid {self.pid})"


class OwnerLock:
    """Blocking calls (tiny file I/O); ``try_acquire`` never waits for the lock."""

    def __init__(self, data_dir: Path, role: str) -> None:
        self.path = data_dir / LOCK_NAME
        self.role = role
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, attempts: int = 3) -> bool:
        """Take the lock if nobody holds it; True when this object holds it afterwards.

        A few quick attempts: ``holder()`` in another process takes a shared lock for
        microseconds, which must not make a runner believe the queue is owned.
        """
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        for attempt in range(attempts):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == attempts - 1:
                    os.close(fd)
                    return False
                time.sleep(0.02)
            except BaseException:
                os.close(fd)
                raise
        with contextlib.suppress(OSError):  # a full disk: still the owner, just unnamed
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {self.role}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the only descriptor releases the flock

    def holder(self) -> Holder | None:
        """Who holds the lock now (None when nobody does, or us)."""
        if self._fd is not None:
            return Holder(os.getpid(), self.role)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # no lock file yet (nobody ever ran this queue), or unreadable
            return None
        try:
            try:  # a shared lock we can take means no exclusive holder
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 200, 0).decode(errors="replace").split()
                if len(text) >= 2 and text[0].isdigit():
                    return Holder(int(text[0]), text[1])
                return Holder(0, "another process")
            return None
        finally:
            os.close(fd)
