"""`ponyconsole` / `ponyconsole console`: open the console, on the cluster or this machine.

Which one: ponyconsole/ui/choose_backend.py (cluster where a kubeconfig is found).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ponyconsole.backends.local.settings import LocalSettings
    from ponyconsole.backends.protocol import Backend


def add_local_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "local mode",
        "Options beat the environment, which beats the [local] table of the config file "
        "($PONYCONSOLE_CONFIG, else ~/.config/ponyconsole/config.toml).",
    )
    group.add_argument("--data-dir", type=Path, help="queue and outputs (env PONYCONSOLE_DATA_DIR)")
    group.add_argument("--inbox", type=Path, help="where rips arrive (env PONYCONSOLE_INBOX)")
    group.add_argument("--output-dir", type=Path, help="where finished files go")
    group.add_argument("--pony", help="this pony's name (env PONYCONSOLE_PONY; default hostname)")
    group.add_argument("--concurrency", type=int, help="encodes at once (default 1)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ponyconsole.ui.choose_backend import add_cluster_arguments

    add_local_arguments(parser)
    add_cluster_arguments(parser)


def local_settings(args: argparse.Namespace) -> LocalSettings:
    """Options, then environment, then the config file: a bad one stops here, clearly."""
    from ponyconsole.backends.local.config_file import ConfigError
    from ponyconsole.backends.local.settings import LocalSettings

    overrides: dict[str, object] = {}
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise SystemExit("ponyconsole: --concurrency must be at least 1")
        overrides["concurrency"] = args.concurrency
    try:
        return LocalSettings.load(
            data_dir=args.data_dir,
            inbox_dir=args.inbox,
            output_dir=args.output_dir,
            pony_name=args.pony,
            **overrides,
        )
    except ConfigError as error:
        raise SystemExit(f"ponyconsole: config file: {error}") from None


def _local_backend(args: argparse.Namespace) -> Backend:
    from ponyconsole.backends.local.backend import LocalBackend

    return LocalBackend(local_settings(args))


def run(args: argparse.Namespace) -> int:
    from ponyconsole.startup_trace import mark
    from ponyconsole.ui.choose_backend import open_backend

    backend = open_backend(args, lambda: _local_backend(args))
    mark("backend opened")
    prefetch = getattr(backend, "prefetch", None)
    if prefetch is not None:
        prefetch()  # the cluster's first lists overlap the UI's imports (~0.5 s)
    from ponyconsole.ui.app import PonyConsole

    mark("app imported")

    PonyConsole(backend).run()
    return 0
