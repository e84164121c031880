"""`ponyconsole enqueue PATH [--library L] [--preset P] [--title N]`: one rip into the queue."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ponyconsole.commands.backend_options import add_backend_arguments, run_action
from ponyconsole.commands.job_ids import SHORT
from ponyconsole.domain.models import EnqueueRequest

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", metavar="PATH", help="a rip in the inbox (file, ISO or disc folder)"
    )
    parser.add_argument("--library", default="", help="default: the inbox subfolder it is in")
    parser.add_argument("--preset", default="", help="HandBrake preset (default: the configured)")
    parser.add_argument("--title", type=int, help="title number (default: the main feature)")
    add_backend_arguments(parser)


def run(args: argparse.Namespace) -> int:
    async def action(backend: LocalBackend) -> int:
        path = str(Path(args.path).expanduser().absolute())
        job = await backend.enqueue(EnqueueRequest(path, args.library, args.preset, args.title))
        print(f"{job.id[:SHORT]}  {job.state.value}  {job.library}  {job.name}  ({job.preset})")
        if getattr(backend, "runner_owner", "") == "nobody":
            print(
                "ponyconsole enqueue: no runner is active; `ponyconsole serve` or the console "
                "will run it",
                file=sys.stderr,
            )
        return 0

    return run_action("enqueue", args, action)
