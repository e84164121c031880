"""The console's `e` in cluster mode: the share's watch/ folder as an inbox, jobchain to enqueue.

The rips are listed by the local inbox (``Inbox`` rooted at ``watch/``: the
same Disc objects, the same settling and refusals). Titles come from
``HandBrakeCLI --scan`` when HandBrakeCLI is on this machine; without it a
rip has no titles and is enqueued for its main feature. Enqueue claims the
rip and creates its Jobs through ``jobchain.ensure_chain``, the watcher's own
code. Blocking: call from a thread.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ponyconsole.backends.local.inbox import Inbox
from ponyconsole.backends.local.scanner import ScanCache
from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.models import Disc, EnqueueRequest, Job, JobState, Title
from ponyconsole.domain.naming import NameRefused, check_library, shown
from ponyconsole.pipeline.jobchain import (
    MAIN_FEATURE,
    Chain,
    Target,
    ensure_chain,
    rip_name_problem,
    rip_of,
)
from ponyconsole.pipeline.share import CLAIM, FAIL, WATCH, ClaimLost, Share, claim, move_to_fail


class NoScans:
    """No HandBrakeCLI on this machine: no titles; the Job transcodes the main feature."""

    def scan(self, path: str, size: int, mtime: float) -> tuple[Title, ...]:
        return ()


def share_root(folder: str | Path) -> Path:
    """The share from the console's ``--inbox``: the share itself, or its watch/ folder."""
    path = Path(folder).expanduser().resolve()
    if path.name == WATCH and not (path / WATCH).is_dir():
        return path.parent
    return path


class ShareInbox:
    def __init__(self, folder: str | Path, settle_seconds: float = 5.0) -> None:
        self.share = Share(share_root(folder))
        handbrake = shutil.which("HandBrakeCLI")
        scans: Any = ScanCache(handbrake) if handbrake else NoScans()
        aliases = Path(tempfile.gettempdir()) / f"ponyconsole-aliases-{os.getuid()}"
        self.inbox = Inbox(self.share.root / WATCH, scans, settle_seconds, alias_dir=aliases)

    @property
    def watch_dir(self) -> Path:
        return self.share.root / WATCH

    def list_rips(self) -> list[Disc]:
        if not self.watch_dir.is_dir():
            raise BackendError(f"no {WATCH}/ folder in the share {shown(str(self.share.root))}")
        return self.inbox.list_rips()

    def libraries(self) -> list[str]:
        names = set(self.inbox.library_names())
        claimed = self.share.root / CLAIM
        if claimed.is_dir():
            names.update(p.name for p in claimed.iterdir() if p.is_dir())
        return sorted(names)

    def scan(self, path: str) -> Disc:
        return self.inbox.describe(Path(path)).disc

    def enqueue(self, api: Any, request: EnqueueRequest, target: Target) -> Job:
        """Claim the rip and create its Jobs; on a refusal the rip goes back to watch/."""
        path = request.path
        if os.path.isabs(path):
            path = os.path.normpath(path)  # "movies/../kids/x.mkv" is in kids, not movies
        try:
            if request.library:
                check_library(request.library)
            info = self.inbox.check_enqueueable(path, request.library or None)
            library = check_library(request.library or info.disc.library)
        except NameRefused as exc:
            raise BackendError(str(exc)) from None
        source = Path(info.disc.path)
        problem = rip_name_problem(source.name)
        if problem:
            raise BackendError(f"refused: {problem}")
        try:
            claimed = claim(self.share, source, library)
        except (OSError, ClaimLost) as exc:
            raise BackendError(f"could not claim {shown(source.name)}: {exc}") from None
        rip = rip_of(claimed, library, request.title, request.preset)
        try:
            chain = ensure_chain(api, rip, target)
        except Exception as exc:
            from ponyconsole.backends.kube.errors import to_backend_error

            reason = to_backend_error(exc)
            raise BackendError(f"{self._put_back(claimed, source)}: {reason}") from None
        return job_of(chain, rip.library, target, str(claimed), rip.preset, request.title)

    def set_aside(self, pod_source: str, reason: str) -> str:
        """A cancelled item's rip: from claim/ to fail/<library>/ with ``reason``, never deleted.

        Not back to watch/: the watcher would claim it again at once and undo the cancel.
        Returns what happened in one line ("" when the rip is not in claim/ any more, e.g.
        a failed transcode already moved it to fail/). Raises OSError when it cannot move.
        """
        local = self.share.local_path(pod_source)
        if local is None or local.parent.parent != self.share.root / CLAIM:
            return ""
        if not os.path.lexists(local):
            return ""
        library = local.parent.name
        moved = move_to_fail(local, self.share.folder(FAIL, library), reason)
        return f"rip moved to {FAIL}/{shown(library)}/{shown(moved.name)}"

    def _put_back(self, claimed: Path, source: Path) -> str:
        try:
            if os.path.lexists(source):
                raise FileExistsError(source)
            os.rename(claimed, source)
        except OSError:
            return (
                f"{shown(claimed.name)} stays in {CLAIM}/ (its Jobs were not created;"
                " `ponyconsole watch` creates them)"
            )
        return f"{shown(source.name)} left in {WATCH}/; its Jobs were not created"


def job_of(
    chain: Chain, library: str, target: Target, source: str, preset: str, title: int | None
) -> Job:
    """The console's item for a chain just ensured (the informer soon brings the real one)."""
    output = target.share.output_for(library, Path(source).name, chain.video)
    return Job(
        id=chain.video,
        source=target.share.pod_path(Path(source)),
        library=library,
        preset=preset,
        state=JobState.QUEUED,
        title=title,
        output=target.share.pod_path(output),
        stage="transcode",
        namespace=target.namespace,
        kube_name=chain.transcode,
        reason=None if chain.created else "already enqueued: its Jobs exist",
    )


__all__ = ["MAIN_FEATURE", "ShareInbox", "job_of", "share_root"]
