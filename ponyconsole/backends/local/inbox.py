"""The inbox: rips waiting to be enqueued, as `inbox/<library>/<rip>` (or `inbox/<rip>` = movies).

A rip is a video file (by extension), an ISO, or a disc folder (one holding
VIDEO_TS or BDMV, or a VIDEO_TS folder itself). A rip whose size or mtime
moved within the settle time is still being copied and cannot be enqueued.
A symlink leading outside the inbox is listed with the reason and refused.
Blocking (stat, scans): call from a thread.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ponyconsole.backends.local.scanner import ScanCache, ScanFailed
from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import Disc, RipKind

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
    def __init__(self, root: Path, scans: ScanCache, settle_seconds: float = 5.0) -> None:
        self.root = root
        self.scans = scans
        self.settle_seconds = settle_seconds
        self._seen: dict[str, tuple[int, float, float]] = {}  # path -> size, mtime, seen at
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
            return f"refused: {path.name} is a symlink pointing outside the inbox (to {real})"
        return None

    def _copying(self, path: str, size: int, mtime: float, now: float) -> bool:
        """Changed within the settle time: by its mtime, or by a size/mtime we saw move."""
        with self._lock:
            previous = self._seen.get(path)
            if previous is None:
                self._seen[path] = (size, mtime, mtime)
            elif (previous[0], previous[1]) != (size, mtime):
                self._seen[path] = (size, mtime, now)
            changed_at = self._seen[path][2]
        return now - max(mtime, changed_at) < self.settle_seconds

    def describe(self, path: Path, library: str | None = None) -> RipInfo:
        """One rip, checked; refusals (outside, not a rip) come back as ``scan_error``."""
        library = library or self._library_of(path)
        refusal = self._outside(path)
        kind = disc_kind(path) if path.exists() else None
        if refusal is None and kind is None:
            refusal = f"refused: {path.name} is not a video file or disc folder"
        if refusal is not None:
            disc = Disc(str(path), library, kind or RipKind.FILE, 0, scan_error=refusal)
            return RipInfo(disc, os.path.realpath(path), 0.0)
        assert kind is not None
        size, mtime = rip_stat(path)
        copying = self._copying(str(path), size, mtime, time.time())
        titles: tuple = ()
        error = None
        if not copying:
            try:
                titles = self.scans.scan(str(path), size, mtime)
            except ScanFailed as exc:
                error = str(exc)
        disc = Disc(str(path), library, kind, size, copying, titles, error)
        return RipInfo(disc, os.path.realpath(path), mtime)

    def list_rips(self) -> list[Disc]:
        return [self.describe(path, library).disc for path, library in self._candidates()]

    def check_enqueueable(self, path: str, library: str | None) -> RipInfo:
        """The rip, or BackendError saying why it cannot be enqueued now."""
        p = Path(path)
        if not p.is_absolute():
            p = self.root / p
        if not os.path.lexists(p):
            raise BackendError(f"no such rip: {path}")
        if ignored(p.name):
            raise BackendError(f"refused: {p.name} is hidden or a partial file")
        info = self.describe(p, library)
        disc = info.disc
        if disc.scan_error and disc.scan_error.startswith("refused:"):
            raise BackendError(disc.scan_error)
        if disc.copying:
            raise BackendError(
                f"still copying: {disc.name} changed less than {self.settle_seconds:g} s ago"
            )
        return info
