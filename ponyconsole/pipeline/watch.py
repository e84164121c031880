"""`ponyconsole watch`: settled rips in watch/<library>/ are claimed and get their Jobs.

Settling is the local inbox's (``Inbox.settled``: size and mtime unchanged for
the settle time as this process saw them, not trusting an old mtime). A
claimed rip stays in ``pending`` until ``jobchain.ensure_chain`` has answered;
while the API server is out of reach the watcher backs off (exponential, with
jitter) and keeps every rip in claim/. On start it re-adopts claim/ (every
claimed rip is ensured: missing Jobs are created, existing ones kept) and
reports outputs left in work/. One line per event on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponyconsole.backends.local.inbox import Inbox, disc_kind, ignored
from ponyconsole.domain.naming import library_problem, shown
from ponyconsole.pipeline.jobchain import (
    DEFAULT_PRESET,
    NameTaken,
    Target,
    ensure_chain,
    rip_name_problem,
    rip_of,
)
from ponyconsole.pipeline.share import (
    CLAIM,
    FAIL,
    WATCH,
    WORK,
    ClaimLost,
    Share,
    claim,
    move_to_fail,
)
from ponyconsole.pipeline.share_inbox import NoScans

BACKOFF_START = 1.0
BACKOFF_CAP = 30.0


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(f"{stamp} {message}", file=sys.stderr, flush=True)


def transient(exc: BaseException) -> bool:
    """An outage or overload (retry later) rather than a refusal of this rip."""
    from kubernetes.client import ApiException

    if isinstance(exc, ApiException):
        return exc.status in (0, 401, 403, 408, 429, 500, 502, 503, 504) or exc.status is None
    return True  # connection refused, timeouts, TLS: the server is not answering


def describe(exc: BaseException) -> str:
    from ponyconsole.backends.kube.errors import to_backend_error

    return str(to_backend_error(exc))


@dataclass
class Watcher:
    share: Share
    target: Target
    api: Any  # kubernetes ApiClient
    settle_seconds: float = 5.0
    preset: str = DEFAULT_PRESET
    say: Callable[[str], None] = log
    pending: dict[Path, str] = field(default_factory=dict)  # claimed path -> library
    _said: set[str] = field(default_factory=set)
    _backoff: float = 0.0
    _next_try: float = 0.0

    def __post_init__(self) -> None:
        self.share.ensure()
        # the watcher never scans (the transcode Job does): only settling and refusals
        self.inbox = Inbox(self.share.root / WATCH, NoScans(), self.settle_seconds)  # type: ignore[arg-type]

    def once(self, key: str, message: str) -> None:
        """Say a standing condition once, not on every poll."""
        if key not in self._said:
            self._said.add(key)
            self.say(message)

    # -- start: what a previous run left ----------------------------------------

    def adopt(self) -> None:
        claimed = self.share.root / CLAIM
        for library_dir in sorted(p for p in claimed.iterdir() if p.is_dir()):
            for rip in sorted(library_dir.iterdir()):
                if not ignored(rip.name) and disc_kind(rip) is not None:
                    self.pending[rip] = library_dir.name
                    self.say(f"adopted claim/{library_dir.name}/{shown(rip.name)}")
        work = self.share.root / WORK
        outputs = sorted(p for p in work.glob("*/*/*") if p.is_file() and not ignored(p.name))
        if outputs:
            self.say(f"work/ holds {len(outputs)} output(s) waiting for their upload Jobs")

    # -- one poll ---------------------------------------------------------------

    def poll(self) -> None:
        self.claim_settled()
        if self.pending and time.monotonic() >= self._next_try:
            self.create_pending()

    def claim_settled(self) -> None:
        for path, library in self.inbox.rips():
            where = f"watch/{shown(library)}/{shown(path.name)}"
            problem = library_problem(library)
            if problem:
                self.once(f"lib:{library}", f"refused {where}: {problem}; left in place")
                continue
            refusal = (
                self.inbox.outside(path)
                or (None if disc_kind(path) else "not a video file or disc folder")
                or rip_name_problem(path.name)
            )
            if refusal:
                self.once(f"bad:{path}", f"refused {where}: {refusal}; left in place")
                continue
            try:
                if not self.inbox.settled(path):
                    self.once(f"seen:{path}", f"seen {where}; waiting for it to settle")
                    continue
                claimed = claim(self.share, path, library)
            except (OSError, ClaimLost) as exc:
                self.say(f"could not claim {where}: {exc}")
                continue
            self._said.discard(f"seen:{path}")
            self.say(f"claimed {where} -> claim/{shown(library)}/{shown(claimed.name)}")
            self.pending[claimed] = library

    def create_pending(self) -> None:
        for path, library in list(self.pending.items()):
            where = f"claim/{shown(library)}/{shown(path.name)}"
            if not path.exists():
                self.say(f"{where} is gone; nothing to create")
                del self.pending[path]
                continue
            try:
                rip = rip_of(path, library, None, self.preset)
                chain = ensure_chain(self.api, rip, self.target)
            except NameTaken as exc:
                self.fail(path, library, str(exc))
                continue
            except Exception as exc:
                if not transient(exc):
                    self.fail(path, library, f"the API refused its Jobs: {describe(exc)}")
                    continue
                self._backoff = min(BACKOFF_CAP, max(BACKOFF_START, self._backoff * 2))
                wait = self._backoff * random.uniform(0.5, 1.0)
                self._next_try = time.monotonic() + wait
                self.say(
                    f"API unreachable creating jobs of {where}: {describe(exc)};"
                    f" {len(self.pending)} rip(s) kept in claim/, retry in {wait:.1f} s"
                )
                return
            self._backoff = 0.0
            del self.pending[path]
            if chain.existed:
                self.say(f"jobs exist for {where}: {chain.transcode}, {chain.upload} (kept)")
            else:
                self.say(f"jobs created for {where}: {', '.join(chain.created)}")

    def fail(self, path: Path, library: str, reason: str) -> None:
        """A rip the API will never take: moved to fail/ with its reason, nothing deleted."""
        try:
            move_to_fail(path, self.share.folder(FAIL, library), reason)
        except OSError as exc:
            self.say(f"could not move claim/{library}/{shown(path.name)} to fail/: {exc}")
            return
        del self.pending[path]
        self.say(f"failed claim/{library}/{shown(path.name)} -> fail/: {reason}")

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        self.say(
            f"watching {self.share.root / WATCH} (settle {self.settle_seconds:g} s),"
            f" jobs in namespace {self.target.namespace}"
        )
        self.adopt()
        while not stop.is_set():
            self.poll()
            stop.wait(poll_seconds)
        self.say(f"stopped; {len(self.pending)} claimed rip(s) still without jobs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--share", type=Path, required=True, help="the shared folder (has watch/)")
    parser.add_argument("--namespace", help="where Jobs go (default: the kubeconfig's)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds unchanged (default 5)")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between looks")
    parser.add_argument("--kubeconfig", help="default: KUBECONFIG, ~/.kube/config, in-cluster")
    parser.add_argument("--context")
    parser.add_argument("--image", default="ponyconsole:latest", help="the Jobs' image")
    parser.add_argument(
        "--share-host-path",
        default="/srv/ponyconsole",
        help="the share's path on each pony (the Jobs' hostPath volume)",
    )
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="HandBrake preset of new Jobs")


def run(args: argparse.Namespace) -> int:
    from ponyconsole.backends.kube.config import load_cluster_config
    from ponyconsole.backends.protocol import BackendError

    if args.settle < 0 or args.poll <= 0:
        print("ponyconsole watch: --settle must be >= 0 and --poll > 0", file=sys.stderr)
        return 2
    try:
        cluster = load_cluster_config(args.kubeconfig, args.context, args.namespace)
    except BackendError as exc:
        print(f"ponyconsole watch: {exc}", file=sys.stderr)
        return 2
    share = Share(args.share.resolve())
    target = Target(cluster.namespace, share, args.image, args.share_host_path)
    watcher = Watcher(share, target, cluster.api_client(), args.settle, args.preset)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        watcher.run(stop, args.poll)
    return 0
