"""`ponyconsole transcode`: the transcode Job's container; one HandBrakeCLI run, checked.

stdout carries only progress, one ``json.dumps(Progress.as_json())`` line at most
once a second (what the console's log follower reads); stderr carries one line:
the reason on failure, where the output went on success. The encode is written to
a hidden partial name next to the output, verified (exists, non-empty, duration
within tolerance of the source title's), then moved into place without ever
replacing a file (publish.py); on any failure the partial is removed and the
source is never touched, unless ``--fail-dir`` is given (the pipeline's Jobs): then a
failed encode moves the rip there with a reason file (the one line it prints), and a retry
finds it there and takes it back first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import FrameType
from typing import IO

from ponyconsole.backends.local.processes import kill_group
from ponyconsole.backends.local.publish import publish
from ponyconsole.domain.handbrake_progress import ProgressParser
from ponyconsole.domain.models import Progress
from ponyconsole.domain.naming import partial_name
from ponyconsole.pipeline.handbrake_run import (
    DEFAULT_TOLERANCE_REL,
    DEFAULT_TOLERANCE_S,
    build_argv,
    exit_reason,
    verify_output,
)
from ponyconsole.pipeline.share import move_to_fail, reclaim

# The seeds' settings: HandBrake's high-quality x264 1080p preset, encoded in two
# passes at an average bitrate (HandBrake ignores --two-pass in constant-quality mode).
DEFAULT_PRESET = "HQ 1080p30 Surround"
DEFAULT_BITRATE_KBPS = 6000
MAIN_FEATURE = "main"  # what the Job templates pass when no title was chosen


def title_arg(text: str) -> int | str:
    if text.strip().lower() == MAIN_FEATURE:
        return MAIN_FEATURE
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a title number or {MAIN_FEATURE!r}: {text!r}"
        ) from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"title numbers start at 1: {text!r}")
    return number


class Stopped(Exception):
    """SIGTERM or SIGINT (the pod is being deleted): clean up and say so."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", help="the rip: a video file or a disc folder")
    parser.add_argument("output", nargs="?", help="where the checked encode goes (.mkv)")
    parser.add_argument("--source", dest="source_opt", metavar="SOURCE", help=argparse.SUPPRESS)
    parser.add_argument("--output", dest="output_opt", metavar="OUTPUT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help=f"HandBrake preset (default {DEFAULT_PRESET!r})"
    )
    parser.add_argument(
        "--bitrate",
        type=int,
        default=DEFAULT_BITRATE_KBPS,
        metavar="KBPS",
        help=f"average video bitrate for a 2-pass encode (default {DEFAULT_BITRATE_KBPS}); "
        "0 keeps the preset's constant quality in one pass",
    )
    parser.add_argument(
        "--title",
        type=title_arg,
        default=None,
        help=f"title number, or {MAIN_FEATURE!r} for the disc's main feature "
        "(default: HandBrake's first)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE_S,
        metavar="S",
        help=f"seconds the output may differ from the source (default {DEFAULT_TOLERANCE_S:g}, "
        f"or {DEFAULT_TOLERANCE_REL * 100:g} %% of the source when longer)",
    )
    parser.add_argument(
        "--handbrake",
        default=os.environ.get("PONYCONSOLE_HANDBRAKE", "HandBrakeCLI"),
        help="the HandBrakeCLI to run",
    )
    parser.add_argument("--log", metavar="FILE", help="also write HandBrake's raw output here")
    parser.add_argument(
        "--fail-dir",
        type=Path,
        metavar="DIR",
        help="the pipeline's fail/<library>/ folder: a failed encode moves the rip there with "
        "a reason file, and a retry whose rip is there takes it back first "
        "(without it, the rip stays in place)",
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="seconds between progress lines"
    )


def encoder_args(bitrate: int) -> tuple[str, ...]:
    return ("--vb", str(bitrate), "--two-pass", "--turbo") if bitrate > 0 else ()


def one_line(text: str) -> str:
    return " ".join(text.split()) or "failed"


def run(args: argparse.Namespace) -> int:
    source = args.source or args.source_opt
    output = args.output or args.output_opt
    if not source or not output:
        print("transcode: a SOURCE and an OUTPUT are required", file=sys.stderr)
        return 2
    # a retry: the failed try moved the rip to fail/ (its video id names the output folder)
    retried = args.fail_dir is not None and not os.path.lexists(source)
    if retried and reclaim(Path(source), args.fail_dir, Path(output).parent.name):
        print(f"took {source} back from {args.fail_dir} for this retry", file=sys.stderr)
    try:
        placed = transcode(args, source, Path(output))
    except Stopped as exc:
        print(one_line(str(exc)), file=sys.stderr)
        return 143
    except Failed as exc:
        reason = one_line(str(exc))
        if args.fail_dir is not None and os.path.lexists(source):
            try:
                moved = move_to_fail(Path(source), args.fail_dir, reason)
            except OSError as move_exc:
                where = args.fail_dir
                reason += f" (the rip stays in place: cannot move it to {where}: {move_exc})"
            else:
                reason += f" (rip moved to {moved})"
        print(reason, file=sys.stderr)
        return 1
    print(f"transcoded to {placed}", file=sys.stderr)
    return 0


class Failed(Exception):
    """The one-line reason the Job fails with."""


def transcode(args: argparse.Namespace, source: str, final: Path) -> Path:
    if not os.path.exists(source):
        raise Failed(f"source not found: {source}")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Failed(f"cannot create {final.parent}: {exc.strerror or exc}") from exc
    partial = final.with_name(partial_name(final.name, uuid.uuid4().hex[:8]))
    main = args.title == MAIN_FEATURE
    title = None if main or not args.title else int(args.title)
    extra = encoder_args(args.bitrate) + (("--main-feature",) if main else ())
    argv = build_argv(args.handbrake, source, partial, args.preset, title, extra)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(f"stopped by {signal.Signals(signum).name}; the source is untouched")

    for s in previous:
        signal.signal(s, stop)
    try:
        parser = ProgressParser()
        returncode = _encode(argv, parser, args.interval, args.log)
        if returncode != 0:
            raise Failed(exit_reason(returncode, parser.last, parser.failure_reason))
        problem = verify_output(
            args.handbrake,
            partial,
            source,
            title,
            failure_reason=parser.failure_reason,
            main_feature=main,
            tolerance_s=args.tolerance,
        )
        if problem:
            raise Failed(problem)
        try:
            return publish(partial, final)
        except OSError as exc:
            raise Failed(f"cannot move the encode to {final}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _encode(argv: list[str], parser: ProgressParser, interval: float, log: str | None) -> int:
    """Run HandBrake, print progress at most every ``interval`` s; its exit code."""
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a stop kills it and what it spawned
        )
    except OSError as exc:
        raise Failed(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc
    log_file: IO[bytes] | None = open(log, "wb") if log else None  # noqa: SIM115
    printed: Progress | None = None
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        next_print = time.monotonic() + interval
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, next_print - time.monotonic()))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                if log_file is not None:
                    log_file.write(chunk)
                parser.feed(chunk)
            if time.monotonic() >= next_print:
                next_print = time.monotonic() + interval
                printed = _print(parser.last, printed)
        parser.close()
        returncode = proc.wait()
        _print(parser.last, printed)
        return returncode
    except BaseException:
        if proc.poll() is None:
            kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        if log_file is not None:
            log_file.close()
        if proc.stdout is not None:
            proc.stdout.close()


def _print(progress: Progress | None, printed: Progress | None) -> Progress | None:
    """Print ``progress`` when it is new; the one printed now."""
    if progress is not None and progress is not printed:
        sys.stdout.write(json.dumps(progress.as_json()) + "\n")
        sys.stdout.flush()
        return progress
    return printed
