"""The inbox: rips waiting to be enqueued, as `inbox/<library>/<rip>` (or `inbox/<rip>` = movies).

A rip is a video file (by extension), an ISO, or a disc folder (one holding
VIDEO_TS or BDMV, or a VIDEO_TS folder itself). A rip is settled once
this inbox has seen its size and mtime unchanged for the settle time (monotonic
clock) and its mtime is older than that; until then it is still being copied
and cannot be enqueued.
A symlink leading outside the inbox is listed with the reason and refused.
Blocking (stat, scans): call from a thread.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ponyconsole.backends.local.handbrake_path import handbrake_path
from ponyconsole.backends.local.scanner import ScanCache, ScanFailed
from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import Disc, RipKind
from ponyconsole.domain.naming import shown

VIDEO_EXTENSIONS = frozenset(
    {".mkv", ".mp4", ".m4v", ".avi", ".mov", ".ts", ".m2ts", ".mpg", ".vob", ".iso"}
)
DEFAULT_LIBRARY = "movies"


def ignored(name: str) -> bool:
    return name.startswith(".") or ".partial" in name


def disc_kind(path: Path) -> RipKind | None:
    """What kind of rip ``path`` is, or None when it is not one."""
    if path.is_dir():
        if path.name.upper() == "VIDEO_TS" or (path / "VIDEO_TS").is_dir():
            return RipKind.DVD
        if (path / "BDMV").is_dir():
            return RipKind.BLURAY
        return None
    suffix = path.suffix.lower()
    if suffix == ".iso":
        return RipKind.ISO
    if suffix in VIDEO_EXTENSIONS:
        return RipKind.FILE
    return None


def rip_stat(path: Path) -> tuple[int, float]:
    """(total size, newest mtime) of a file or of everything in a disc folder."""
    st = path.stat()
    if not path.is_dir():
        return st.st_size, st.st_mtime
    size, mtime = 0, st.st_mtime
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                fst = os.stat(os.path.join(root, name))
            except OSError:
                continue
            size += fst.st_size
            mtime = max(mtime, fst.st_mtime)
    return size, mtime


@dataclass(frozen=True, slots=True)
class RipInfo:
    """What the enqueue needs: the checked rip, its real path and its size/mtime."""

    disc: Disc
    resolved: str
    mtime: float


class Inbox:
    def __init__(
        self,
        root: Path,
        scans: ScanCache,
        settle_seconds: float = 5.0,
        alias_dir: Path | None = None,
    ) -> None:
        self.root = root
        self.alias_dir = alias_dir or root / ".aliases"
        self.scans = scans
        self.settle_seconds = settle_seconds
        # path -> size, mtime, monotonic time they were first seen so
        self._seen: dict[str, tuple[int, float, float]] = {}
        self._lock = threading.Lock()

    def _candidates(self) -> list[tuple[Path, str]]:
        found: list[tuple[Path, str]] = []
        if not self.root.is_dir():
            return found
        for entry in sorted(self.root.iterdir()):
            if ignored(entry.name):
                continue
            if disc_kind(entry) is not None or (entry.is_symlink() and not entry.is_dir()):
                found.append((entry, DEFAULT_LIBRARY))
            elif entry.is_dir():
                for rip in sorted(entry.iterdir()):
                    if not ignored(rip.name) and (disc_kind(rip) is not None or rip.is_symlink()):
                        found.append((rip, entry.name))
        return found

    def rips(self) -> list[tuple[Path, str]]:
        """(path, library) of every rip-looking entry, unchecked (the watcher's poll)."""
        return self._candidates()

    def settled(self, path: Path) -> bool:
        """Seen unchanged for the settle time by this inbox (one stat; see ``_observe``)."""
        size, mtime = rip_stat(path)
        return not self._copying(str(path), size, mtime)

    def outside(self, path: Path) -> str | None:
        """The refusal for a symlink leading out of the inbox, or None."""
        return self._outside(path)

    def library_names(self) -> list[str]:
        names = {DEFAULT_LIBRARY}
        if self.root.is_dir():
            names.update(
                e.name
                for e in self.root.iterdir()
                if e.is_dir() and not ignored(e.name) and disc_kind(e) is None
            )
        return sorted(names)

    def _library_of(self, path: Path) -> str:
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return DEFAULT_LIBRARY
        return rel.parts[0] if len(rel.parts) >= 2 else DEFAULT_LIBRARY

    def _outside(self, path: Path) -> str | None:
        real = os.path.realpath(path)
        root = os.path.realpath(self.root)
        if os.path.commonpath([real, root]) != root:
            name, target = shown(path.name), shown(real)
            return f"refused: {name} is a symlink pointing outside the inbox (to {target})"
        return None

    def _observe(self, path: str, size: int, mtime: float, now: float) -> float:
        """Record one look at a rip (``now`` monotonic); seconds it has been seen unchanged.

        Measured from what this inbox saw, never from the mtime alone: a copy tool
        that keeps an old mtime (``cp -p``, rsync, a restore) while the file grows
        is still copying. A rip seen for the first time has been stable for 0 s.
        """
        with self._lock:
            previous = self._seen.get(path)
            if previous is None or (previous[0], previous[1]) != (size, mtime):
                self._seen[path] = (size, mtime, now)
            return now - self._seen[path][2]

    def _copying(self, path: str, size: int, mtime: float) -> bool:
        """Seen changing (or first seen) within the settle time, or written to recently."""
        stable_for = self._observe(path, size, mtime, time.monotonic())
        recent = time.time() - mtime < self.settle_seconds
        return stable_for < self.settle_seconds or recent

    def observe(self) -> None:
        """Look at every rip once (stat only, no scans), so the settle clock starts early."""
        for path, _library in self._candidates():
            if self._outside(path) is None and disc_kind(path) is not None:
                try:
                    size, mtime = rip_stat(path)
                except OSError:
                    continue
                self._observe(str(path), size, mtime, time.monotonic())

    def _watch_settle(self, path: Path) -> None:
        """Watch a rip until it has been seen unchanged for the settle time, or changes.

        An enqueue of a rip this inbox has not watched long enough (the CLI, or
        the dialog opened a moment ago) waits the rest of the settle time here,
        at most ``settle_seconds``, instead of trusting an old mtime.
        """
        deadline = time.monotonic() + self.settle_seconds
        last = -1.0
        while True:
            try:
                size, mtime = rip_stat(path)
            except OSError:
                return
            stable_for = self._observe(str(path), size, mtime, time.monotonic())
            if stable_for >= self.settle_seconds or stable_for < last:
                return  # settled, or seen changing: describe() says which
            if time.time() - mtime < self.settle_seconds or time.monotonic() >= deadline:
                return
            last = stable_for
            time.sleep(min(0.2, max(0.01, self.settle_seconds - stable_for)))

    def describe(self, path: Path, library: str | None = None, scan: bool = True) -> RipInfo:
        """One rip, checked; refusals (outside, not a rip) come back as ``scan_error``.

        ``scan=False``: no HandBrake scan (no titles): what changed, cheaply."""
        library = library or self._library_of(path)
        refusal = self._outside(path)
        kind = disc_kind(path) if path.exists() else None
        if refusal is None and kind is None:
            refusal = f"refused: {shown(path.name)} is not a video file or disc folder"
        if refusal is not None:
            disc = Disc(str(path), library, kind or RipKind.FILE, 0, scan_error=refusal)
            return RipInfo(disc, os.path.realpath(path), 0.0)
        assert kind is not None
        size, mtime = rip_stat(path)
        copying = self._copying(str(path), size, mtime)
        titles: tuple = ()
        error = None
        if not copying and scan:
            try:
                source = handbrake_path(str(path), self.alias_dir)
                titles = self.scans.scan(source, size, mtime)
            except ScanFailed as exc:
                error = str(exc)
        disc = Disc(str(path), library, kind, size, copying, titles, error)
        return RipInfo(disc, os.path.realpath(path), mtime)

    def list_rips(self, scan: bool = True) -> list[Disc]:
        return [self.describe(path, library, scan).disc for path, library in self._candidates()]

    def check_enqueueable(self, path: str, library: str | None) -> RipInfo:
        """The rip, or BackendError saying why it cannot be enqueued now."""
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        if not os.path.lexists(p):
            raise BackendError(f"no such rip: {shown(path)}")
        if ignored(p.name):
            raise BackendError(f"refused: {shown(p.name)} is hidden or a partial file")
        if self._outside(p) is None and disc_kind(p) is not None:
            self._watch_settle(p)
        info = self.describe(p, library)
        disc = info.disc
        if disc.scan_error and disc.scan_error.startswith("refused:"):
            raise BackendError(disc.scan_error)
        if disc.copying:
            raise BackendError(
                f"still copying: {shown(disc.name)} changed (size or time stamp)"
                f" less than {self.settle_seconds:g} s ago"
            )
        return info
