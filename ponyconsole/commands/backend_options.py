"""Opening the backend from a command's options, shared by every queue command.

The same choice as the console's (ui/choose_backend.py): the cluster where a
kubeconfig is found the way kubectl finds it, else this machine's queue;
``--local`` forces local mode. Each command calls protocol methods only, so
``ponyconsole retry``, ``cancel``, ``cordon`` ... act on either.
Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage (argparse).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ponyconsole.backends.protocol import BackendError
from ponyconsole.ui.choose_backend import add_cluster_arguments, wants_cluster
from ponyconsole.ui.run_console import add_local_arguments, local_settings

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend

SYNC_TIMEOUT = 15.0  # seconds to wait for the cluster's first full list


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    add_local_arguments(parser)
    add_cluster_arguments(parser)


async def open_client(args: argparse.Namespace) -> LocalBackend:
    """The backend opened for one action.

    Local: the queue only (no runner, no metrics, no HandBrake preset list).
    Cluster: the caches listed once (no log followers are needed, none start
    before the first sync); an API server that does not answer is a refusal.
    """
    if wants_cluster(args):
        return await _open_cluster(args)  # type: ignore[return-value]
    from ponyconsole.backends.local.backend import LocalBackend

    backend = LocalBackend(local_settings(args))
    await backend.start_client()
    return backend


async def _open_cluster(args: argparse.Namespace) -> object:
    from ponyconsole.backends.kube.backend import KubeBackend

    backend = KubeBackend(
        args.kubeconfig,
        args.context,
        args.namespace,
        read_only=bool(args.read_only),
        inbox=str(args.inbox) if getattr(args, "inbox", None) else "",
        stall_seconds=float(args.stall_seconds),
    )
    await backend.start()
    try:
        await asyncio.wait_for(backend.first_sync.wait(), SYNC_TIMEOUT)
    except TimeoutError:
        lost = [s for s in backend.snapshot().sources if s.error]
        why = lost[0].error if lost else "no answer"
        await backend.stop()
        raise BackendError(
            f"the cluster did not answer within {SYNC_TIMEOUT:.0f} s: {why}"
        ) from None
    return backend


def run_action(
    command: str,
    args: argparse.Namespace,
    action: Callable[[LocalBackend], Awaitable[int]],
) -> int:
    """Open the backend, run one action, close it; a refusal is one line on stderr, exit 1."""

    async def main() -> int:
        backend = await open_client(args)
        try:
            return await action(backend)
        finally:
            await backend.stop()

    try:
        return asyncio.run(main())
    except BackendError as error:
        print(f"ponyconsole {command}: {error}", file=sys.stderr)
        return 1
