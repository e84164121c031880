"""`ponyconsole cancel ID`: a queued job leaves the queue; a running encode is stopped."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ponyconsole.commands.backend_options import add_backend_arguments, run_action
from ponyconsole.commands.job_ids import SHORT, resolve

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="job id or a unique prefix of it")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    async def action(backend: LocalBackend) -> int:
        job = await backend.cancel(resolve(backend.snapshot().jobs, args.id).id)
        print(f"{job.id[:SHORT]}  {job.state.value}  {job.name}")
        return 0

    return run_action("cancel", args, action)
