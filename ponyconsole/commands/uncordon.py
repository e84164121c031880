"""`ponyconsole uncordon [NODE]`: the pony takes jobs again."""

from __future__ import annotations

import argparse

from ponyconsole.commands import cordon


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cordon.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return cordon.set_cordon("uncordon", args, False)
