"""What the local runner and `ponyconsole transcode` share: HandBrake's argv and the checks
an encode must pass before it is accepted.

Both refuse the same outputs for the same reasons: missing, empty, unreadable, or a
duration too far from the source title's (ffprobe, then HandBrake's ``--scan``).
Blocking (subprocesses): call from a thread.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ponyconsole.backends.local.scanner import ScanFailed, media_duration, scan_titles
from ponyconsole.domain.models import Progress

DEFAULT_TOLERANCE_S = 2.0
DEFAULT_TOLERANCE_REL = 0.02  # 2 % of the source: a 2 h film may be 2.4 min off (credits)


def build_argv(
    handbrake: str,
    source: str,
    output: Path,
    preset: str,
    title: int | None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """No shell: the source follows ``-i`` as its own element, whatever its name."""
    argv = [handbrake, "-i", source, "-o", os.fspath(output), "--format", "av_mkv"]
    argv += ["--preset", preset, *extra]
    if title:
        argv += ["-t", str(title)]
    return argv


def exit_reason(returncode: int, last: Progress | None, failure: str | None) -> str:
    """What the user reads when HandBrake did not exit 0."""
    done = f" after {last.overall_percent:.0f} %" if last is not None else ""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown signal"
        return f"HandBrake exited with signal {-returncode} ({name}){done}"
    if failure:
        return failure
    return f"HandBrake exited with code {returncode}{done}"


def duration_problem(
    output_s: float,
    source_s: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    tolerance_rel: float = DEFAULT_TOLERANCE_REL,
) -> str | None:
    tolerance = max(tolerance_s, tolerance_rel * source_s)
    if abs(output_s - source_s) > tolerance:
        return f"output {output_s:.0f} s long, source {source_s:.0f} s"
    return None


def source_duration(
    handbrake: str, source: str, title: int | None, timeout: float, main_feature: bool = False
) -> float:
    """Seconds of the title that was encoded (the main feature when asked for, or the
    longest when none was named)."""
    titles = scan_titles(handbrake, source, timeout)
    wanted = [t for t in titles if t.index == title]
    if not wanted and main_feature:
        wanted = [t for t in titles if t.main_feature]
    wanted = wanted or list(titles)
    return max((t.duration_seconds for t in wanted), default=0.0)


def verify_output(
    handbrake: str,
    output: Path,
    source: str,
    title: int | None,
    *,
    failure_reason: str | None = None,
    known_source_s: float | None = None,
    main_feature: bool = False,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    tolerance_rel: float = DEFAULT_TOLERANCE_REL,
    timeout: float = 60.0,
) -> str | None:
    """Why ``output`` is not a good encode of ``source``, or None when it is.

    ``failure_reason`` is HandBrake's own complaint, preferred over ours when
    it exited 0 without writing anything.
    """
    if not output.exists():
        return failure_reason or "HandBrake exited 0 but wrote no output"
    if output.stat().st_size == 0:
        return failure_reason or "HandBrake exited 0 but the output is empty"
    try:
        out_s = media_duration(handbrake, output, timeout)
    except ScanFailed as exc:
        return f"output is not readable: {exc}"
    source_s = known_source_s
    if source_s is None:
        try:
            source_s = source_duration(handbrake, source, title, timeout, main_feature)
        except ScanFailed:
            return None  # HandBrake read it well enough to encode; nothing to compare with
    return duration_problem(out_s, source_s, tolerance_s, tolerance_rel)
