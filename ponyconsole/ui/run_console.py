"""`ponyconsole` / `ponyconsole console`: open the console on this machine (local mode)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_local_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("local mode")
    group.add_argument("--data-dir", type=Path, help="queue and outputs (env PONYCONSOLE_DATA_DIR)")
    group.add_argument("--inbox", type=Path, help="where rips arrive (env PONYCONSOLE_INBOX)")
    group.add_argument("--output-dir", type=Path, help="where finished files go")
    group.add_argument("--pony", help="this pony's name (env PONYCONSOLE_PONY; default hostname)")
    group.add_argument("--concurrency", type=int, default=1, help="encodes at once (default 1)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_local_arguments(parser)


def local_settings(args: argparse.Namespace, **overrides: object) -> object:
    from ponyconsole.backends.local.settings import LocalSettings

    if args.concurrency < 1:
        raise SystemExit("ponyconsole: --concurrency must be at least 1")
    return LocalSettings.load(
        data_dir=args.data_dir,
        inbox_dir=args.inbox,
        output_dir=args.output_dir,
        pony_name=args.pony,
        concurrency=args.concurrency,
        **overrides,
    )


def run(args: argparse.Namespace) -> int:
    from ponyconsole.backends.local.backend import LocalBackend
    from ponyconsole.ui.app import PonyConsole

    settings = local_settings(args)
    PonyConsole(LocalBackend(settings)).run()  # type: ignore[arg-type]
    return 0
