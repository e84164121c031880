"""Opening the backend from a command's options, shared by every queue command.

Today that is always local mode (this machine's queue); the cluster backend
will plug in here, so each command keeps calling protocol methods only.
Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage (argparse).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ponyconsole.backends.protocol import BackendError
from ponyconsole.ui.run_console import add_local_arguments, local_settings

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    add_local_arguments(parser)


async def open_client(args: argparse.Namespace) -> LocalBackend:
    """The queue opened for one action: no runner, no metrics, no HandBrake preset list."""
    from ponyconsole.backends.local.backend import LocalBackend

    backend = LocalBackend(local_settings(args))
    await backend.start_client()
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
