"""The `ponyconsole` command: the console by default, and its helper subcommands.

Each subcommand lives in its own module exposing ``add_arguments(parser)``
and ``run(args) -> int``; this file only wires them together, importing each
lazily so `ponyconsole parse-progress` never pays for Textual's import.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from ponyconsole.startup_trace import mark

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "console": ("ponyconsole.ui.run_console", "open the console (the default)"),
    "demo": ("ponyconsole.demo", "open the console in local mode with a small demo workload"),
    "agent": ("ponyconsole.agent.command", "serve this pony's figures (HTTP JSON + Prometheus)"),
    "serve": ("ponyconsole.commands.serve", "run the local queue with no UI (systemd-friendly)"),
    "jobs": ("ponyconsole.commands.jobs", "list the queue (a table, or --json for scripts)"),
    "enqueue": ("ponyconsole.commands.enqueue", "put a rip from the inbox into the queue"),
    "retry": ("ponyconsole.commands.retry", "retry a failed or cancelled job, or --all-failed"),
    "cancel": ("ponyconsole.commands.cancel", "cancel a job (stops its encode)"),
    "cordon": ("ponyconsole.commands.cordon", "stop giving a pony new jobs"),
    "uncordon": ("ponyconsole.commands.uncordon", "let a pony take jobs again"),
    "watch": (
        "ponyconsole.pipeline.watch",
        "claim settled rips of the share and create their Jobs",
    ),
    "parse-progress": (
        "ponyconsole.parse_progress",
        "print captured HandBrake output as one JSON object per progress update",
    ),
    "transcode": (
        "ponyconsole.pipeline.transcode",
        "run HandBrakeCLI on a rip, print JSON progress, verify and place the output",
    ),
    "wait-job": (
        "ponyconsole.pipeline.wait_job",
        "wait for a Job to complete; fail as soon as it failed (the upload's init container)",
    ),
    "upload": (
        "ponyconsole.pipeline.upload",
        "copy an encode into the Plex library, refresh Plex, then remove the rip",
    ),
}


class BrokenSubcommand(Exception):
    """A subcommand's module does not import: said, naming the module, never hidden."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every subcommand, listed from the table; only ``command``'s module is imported."""
    parser = argparse.ArgumentParser(
        prog="ponyconsole",
        description="Control console of a home HandBrake transcoding cluster.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(module=module_name)
        if name == command:
            load(name).add_arguments(sub_parser)
    return parser


def load(command: str) -> ModuleType:
    """The module of a subcommand; BrokenSubcommand, naming it, when it does not import."""
    module_name = SUBCOMMANDS[command][0]
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise BrokenSubcommand(
            f"ponyconsole {command}: its module {module_name} does not import: {exc}"
        ) from exc


def main(argv: list[str] | None = None) -> int:
    mark("main")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "console")
    command = argv[0] if argv[0] in SUBCOMMANDS else None
    try:
        args = build_parser(command).parse_args(argv)
        module = load(args.command)
    except BrokenSubcommand as exc:
        print(exc, file=sys.stderr)
        return 2
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
