"""`ponyconsole parse-progress FILE|-`: captured HandBrake output as JSON lines.

Reads in chunks (so a live pipe works: ``HandBrakeCLI ... | ponyconsole
parse-progress -``) and prints one JSON object per progress update as soon as
its chunk is parsed. Errors HandBrake reported go to stderr; the exit status
is 1 when there were any, 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import BinaryIO

from ponyconsole.domain.handbrake_progress import ProgressParser
from ponyconsole.domain.models import Progress

CHUNK = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        metavar="FILE",
        help="HandBrakeCLI stdout (text or --json form, stderr may be merged); - for stdin",
    )


def run(args: argparse.Namespace) -> int:
    path: str = args.file
    try:
        if path == "-":
            return _parse(sys.stdin.buffer)
        with open(path, "rb") as stream:
            return _parse(stream)
    except FileNotFoundError:
        print(f"ponyconsole parse-progress: {path}: no such file", file=sys.stderr)
        return 2
    except IsADirectoryError:
        print(f"ponyconsole parse-progress: {path}: is a directory", file=sys.stderr)
        return 2
    except PermissionError:
        print(f"ponyconsole parse-progress: {path}: permission denied", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _parse(stream: BinaryIO) -> int:
    parser = ProgressParser()
    out = sys.stdout
    read = getattr(stream, "read1", stream.read)  # read1: return what a pipe has now
    while chunk := read(CHUNK):
        _write(out, parser.feed(chunk))
    _write(out, parser.close())
    for error in parser.errors:
        print(f"HandBrake error: {error}", file=sys.stderr)
    return 1 if parser.failure_reason else 0


def _write(out: object, updates: list[Progress]) -> None:
    if not updates:
        return
    lines = "".join(json.dumps(p.as_json()) + "\n" for p in updates)
    out.write(lines)  # type: ignore[attr-defined]
    out.flush()  # type: ignore[attr-defined]
