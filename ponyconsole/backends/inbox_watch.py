"""Tells the UI when the rips in an inbox change (``InboxChanged``), for both backends.

A cheap poll in the backend, not file-system notifications: the inbox is often
a network share (the cluster's ``watch/`` folder is written by the ripping
machine over NFS or SMB), where inotify on this machine sees nothing of what
another machine writes; and a copy becomes enqueueable when it has *stopped*
changing for the settle time, which no notification announces. So every
``interval`` seconds one thread stats the inbox's entries (names, sizes,
mtimes: no HandBrake scans) and only when that changed, or while a rip is
still being copied, lists the rips again (``list_rips``, scans cached) and
publishes them if they differ from the last ones published.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ponyconsole.backends.protocol import BackendError, InboxChanged
from ponyconsole.domain.models import Disc

POLL_SECONDS = 1.0

Signature = tuple[tuple[str, int, float], ...]


def signature(root: Path) -> Signature:
    """(path, size, mtime) of everything under ``root`` (stat only; empty if it is missing)."""
    out: list[tuple[str, int, float]] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name, is_dir in [(d, True) for d in dirs] + [(f, False) for f in sorted(files)]:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                st = os.stat(path)
                out.append((path, 0 if is_dir else st.st_size, st.st_mtime))
    return tuple(out)


class InboxWatch:
    """Poll ``root``; call ``publish`` with an ``InboxChanged`` when the rips change."""

    def __init__(
        self,
        root: Callable[[], Path],
        list_rips: Callable[[], list[Disc]],
        publish: Callable[[InboxChanged], None],
        interval: float = POLL_SECONDS,
    ) -> None:
        self._root = root
        self._list_rips = list_rips
        self._publish = publish
        self.interval = interval
        self._seen: Signature | None = None
        self._rips: tuple[Disc, ...] | None = None
        self.lists = 0  # how many times the rips were listed (tests)

    def check(self) -> InboxChanged | None:
        """One look (blocking: call from a thread); the event to publish, if any."""
        now = signature(self._root())
        copying = self._rips is not None and any(r.copying for r in self._rips)
        if now == self._seen and not copying:
            return None
        self._seen = now
        try:
            rips = tuple(self._list_rips())
        except BackendError:
            return None  # no inbox (yet): the dialog says why when it opens
        self.lists += 1
        if rips == self._rips:
            return None
        self._rips = rips
        return InboxChanged(rips)

    async def run(self) -> None:
        while True:
            event = await asyncio.to_thread(self.check)
            if event is not None:
                self._publish(event)
            await asyncio.sleep(self.interval)
