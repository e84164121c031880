"""`ponyconsole retry ID | --all-failed`: failed or cancelled jobs back into the queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ponyconsole.commands.backend_options import add_backend_arguments, run_action
from ponyconsole.commands.job_ids import SHORT, resolve

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", metavar="ID", help="job id or a unique prefix of it")
    which.add_argument("--all-failed", action="store_true", help="every failed job")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    async def action(backend: LocalBackend) -> int:
        if args.all_failed:
            jobs = await backend.retry_failed()
        else:
            job = resolve(backend.snapshot().jobs, args.id)
            jobs = [await backend.retry(job.id)]
        for job in jobs:
            print(f"{job.id[:SHORT]}  {job.state.value}  retry {job.retries}  {job.name}")
        return 0

    return run_action("retry", args, action)
