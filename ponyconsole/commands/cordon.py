"""`ponyconsole cordon [NODE]`: the pony takes no new job (the current encode finishes)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ponyconsole.backends.protocol import BackendError
from ponyconsole.commands.backend_options import add_backend_arguments, run_action

if TYPE_CHECKING:
    from ponyconsole.backends.local.backend import LocalBackend


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "node", nargs="?", metavar="NODE", help="the pony (local mode: this one, the default)"
    )
    add_backend_arguments(parser)


def set_cordon(command: str, args: argparse.Namespace, cordoned: bool) -> int:
    async def action(backend: LocalBackend) -> int:
        nodes = backend.snapshot().nodes
        if not args.node and len(nodes) != 1:
            raise BackendError(f"name the pony: {command} NODE (one of {len(nodes)})")
        name = args.node or nodes[0].name
        node = await backend.set_cordoned(name, cordoned)
        print(f"{node.name}  {'cordoned' if node.cordoned else 'uncordoned'}")
        return 0

    return run_action(command, args, action)


def run(args: argparse.Namespace) -> int:
    return set_cordon("cordon", args, True)
