"""The shared folder every pony mounts: watch/ -> claim/ -> work/ -> (library) or fail/.

``watch/<library>/<rip>``   dropped by the user, settling while it is copied
``claim/<library>/<rip>``   taken by the watcher (or the console's ``e``); its Jobs exist
``work/<library>/<id>/<out>.mkv``  the transcode's verified output, waiting for upload
``fail/<library>/<rip>``    a rip whose pipeline failed, with ``<rip>.reason``; a retried Job
                            takes it back to claim/ first (:func:`reclaim`)

The watcher and the pods see the same tree under different roots (``/share``
in a pod): :class:`Share` turns one into the other. Blocking (renames, stats).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ponyconsole.domain.kube_names import stable_id
from ponyconsole.domain.naming import clean_stem, numbered, unique_name

WATCH, CLAIM, WORK, FAIL = "watch", "claim", "work", "fail"
POD_ROOT = "/share"
REASON_SUFFIX = ".reason"  # fail/<library>/<rip>.reason


class ClaimLost(Exception):
    """The rip vanished between being seen and being claimed (someone else took it)."""


@dataclass(frozen=True, slots=True)
class Share:
    root: Path  # the share on this machine
    pod_root: str = POD_ROOT  # the same folder as the Job pods mount it

    def folder(self, stage: str, library: str) -> Path:
        return self.root / stage / library

    def pod_path(self, path: Path) -> str:
        """``path`` (under ``root``) as a pod sees it."""
        rel = path.relative_to(self.root)
        return str(PurePosixPath(self.pod_root, *rel.parts))

    def local_path(self, pod_path: str) -> Path | None:
        """A pod's path (``/share/...``) on this machine; None if it is not under the share."""
        pure = PurePosixPath(pod_path)
        try:
            rel = pure.relative_to(self.pod_root)
        except ValueError:
            return None
        if not rel.parts or any(part in ("", ".", "..") for part in rel.parts):
            return None
        return self.root.joinpath(*rel.parts)

    def output_for(self, library: str, rip_name: str, video: str) -> Path:
        """Where the transcode writes: one folder per video id, so names never clash.

        Deterministic from the rip, so a restarted watcher names the same output.
        """
        stem = Path(rip_name).stem if Path(rip_name).suffix else rip_name
        if stem.upper() == "VIDEO_TS":
            stem = video
        return self.folder(WORK, library) / video / (clean_stem(stem, video) + ".mkv")

    def ensure(self, library: str | None = None) -> None:
        for stage in (WATCH, CLAIM, WORK, FAIL):
            target = self.root / stage / library if library else self.root / stage
            target.mkdir(parents=True, exist_ok=True)


def claim(share: Share, rip: Path, library: str) -> Path:
    """Move ``rip`` from watch/ to claim/<library>/ atomically; never overwrites.

    A name already in claim/ gets `` (2)``, `` (3)``... A file is linked then
    unlinked (link(2) refuses an existing name), so two claimers cannot replace
    each other's rip; the same rip claimed by two at once: one wins, the other
    gets :class:`ClaimLost`.
    """
    folder = share.folder(CLAIM, library)
    folder.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        target = folder / numbered(rip.name, n)
        if not os.path.lexists(target):
            try:
                _rename_noreplace(rip, target)
                return target
            except FileExistsError:
                pass  # taken in between: next number
            except FileNotFoundError as exc:
                raise ClaimLost(f"{rip} vanished before it was claimed") from exc
        n += 1


def _rename_noreplace(src: Path, dst: Path) -> None:
    """rename(2) that refuses to replace: link + unlink for files, a check for folders."""
    if src.is_dir() and not src.is_symlink():
        # directories: rename(2) onto an existing non-empty dir fails; onto a missing one is atomic
        if os.path.lexists(dst):
            raise FileExistsError(dst)
        os.rename(src, dst)
        return
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        # a filesystem without hard links (some SMB/FUSE shares): check, then rename
        if os.path.lexists(dst):
            raise FileExistsError(dst) from None
        os.rename(src, dst)
        return
    try:
        os.unlink(src)
    except FileNotFoundError:
        os.unlink(dst)  # another claimer took the same rip under another name first
        raise


def move_to_fail(rip: Path, fail_dir: Path, reason: str) -> Path:
    """The rip in the fail folder (numbered if its name is taken) with its reason beside it."""
    fail_dir.mkdir(parents=True, exist_ok=True)
    taken = set(os.listdir(fail_dir))
    target = fail_dir / unique_name(rip.name, lambda n: n in taken or n + REASON_SUFFIX in taken)
    # the reason first: a rip in fail/ always has one
    Path(f"{target}{REASON_SUFFIX}").write_text(reason + "\n", encoding="utf-8")
    try:
        _rename_noreplace(rip, target)
    except FileExistsError:
        raise
    except OSError:
        shutil.move(os.fspath(rip), os.fspath(target))  # another filesystem: copy, then remove
    return target


def reclaim(source: Path, fail_dir: Path, video: str) -> Path | None:
    """A retried Job's rip, back from fail/ to ``source`` (claim/<library>/<name>); None if absent.

    The rip in ``fail_dir`` is ``source``'s name, or that name numbered (another rip of the
    name failed first), whose size gives the same video id (library, claimed name, size):
    never another rip of the same name. Its reason file goes (the Job keeps the last
    failure in its ponyconsole/last-failure annotation). Never replaces anything.
    """
    from ponyconsole.backends.local.inbox import rip_stat

    if os.path.lexists(source) or not fail_dir.is_dir():
        return None
    library = source.parent.name
    count = len(os.listdir(fail_dir))
    for n in range(1, count + 2):
        candidate = fail_dir / numbered(source.name, n)
        if not os.path.lexists(candidate):
            continue
        try:
            size, _mtime = rip_stat(candidate)
        except OSError:
            continue
        if stable_id(library, source.name, size, None) != video:
            continue
        source.parent.mkdir(parents=True, exist_ok=True)
        try:
            _rename_noreplace(candidate, source)
        except FileNotFoundError:
            return None  # another retry took it first
        with contextlib.suppress(OSError):
            os.unlink(f"{candidate}{REASON_SUFFIX}")
        return source
    return None
