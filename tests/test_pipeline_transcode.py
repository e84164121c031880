"""`ponyconsole transcode` as a real process running the real HandBrakeCLI on real clips."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ponyconsole.backends.local.scanner import media_duration
from ponyconsole.demo import make_clip
from ponyconsole.domain.handbrake_progress import ProgressParser
from ponyconsole.domain.models import Progress, ProgressState

FAST = ("--preset", "Very Fast 480p30", "--bitrate", "0")  # one quick pass, for failure cases


def argv(source: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ponyconsole.cli", "transcode", str(source), str(output), *extra]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_timed(args: list[str], timeout: float = 180) -> tuple[int, list[tuple[float, str]], str]:
    """Exit code, stdout lines with the time each arrived, stderr."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[tuple[float, str]] = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        lines.append((time.monotonic(), line.rstrip("\n")))
        assert time.monotonic() < deadline, "transcode ran past its deadline"
    code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    return code, lines, proc.stderr.read()


def only_output(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.timeout(240)
def test_default_two_pass_prints_the_parsers_progress_and_places_a_verified_output(
    clip: Path, tmp_path: Path
) -> None:
    before = digest(clip)
    out = tmp_path / "work" / "Ponyo.mkv"
    log = tmp_path / "handbrake.log"
    code, lines, stderr = run_timed(argv(clip, out, "--log", str(log)))
    assert code == 0, stderr
    assert stderr.strip() == f"transcoded to {out}"
    printed = [Progress.from_json(json.loads(text)) for _t, text in lines]
    assert [json.dumps(p.as_json()) for p in printed] == [text for _t, text in lines]
    # the same run through the domain parser: every printed line is one of its updates, in order
    parser = ProgressParser()
    expected = parser.feed(log.read_bytes()) + parser.close()
    it = iter(p.as_json() for p in expected)
    assert all(any(p.as_json() == e for e in it) for p in printed), "not the parser's updates"
    assert printed[-1] == parser.last and printed[-1].state is ProgressState.WORKDONE
    assert {p.passes for p in printed} == {2}  # the default is the seeds' 2-pass encode
    assert any(p.pass_ == 1 for p in printed) and any(p.pass_ == 2 for p in printed)
    # at most one line a second (the last one comes when HandBrake ends)
    times = [t for t, _text in lines[:-1]]
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(times)), times
    assert len(lines) >= 3
    # verified and in place, nothing else left, the source untouched
    assert only_output(out.parent) == ["Ponyo.mkv"]
    assert abs(media_duration("HandBrakeCLI", out) - 8.0) < 1.0
    assert digest(clip) == before


def test_an_existing_output_is_never_replaced(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "work" / "Ponyo.mkv"
    out.parent.mkdir()
    out.write_bytes(b"an earlier film")
    code, _lines, stderr = run_timed(argv(clip, out, *FAST))
    assert code == 0, stderr
    assert out.read_bytes() == b"an earlier film"
    assert only_output(out.parent) == ["Ponyo (2).mkv", "Ponyo.mkv"]
    assert stderr.strip() == f"transcoded to {out.parent / 'Ponyo (2).mkv'}"


def test_dvd_main_feature_in_the_job_templates_form(dvd: Path, tmp_path: Path) -> None:
    """The transcode Job passes --source/--output and --title main (pipeline/jobchain.py)."""
    out = tmp_path / "work" / "Disc.mkv"
    args = [sys.executable, "-m", "ponyconsole.cli", "transcode", "--source", str(dvd.parent)]
    args += ["--output", str(out), "--title", "main", *FAST]
    code, lines, stderr = run_timed(args)
    assert code == 0, stderr
    assert only_output(out.parent) == ["Disc.mkv"]
    assert abs(media_duration("HandBrakeCLI", out) - 12.0) < 1.5
    assert Progress.from_json(json.loads(lines[-1][1])).state is ProgressState.WORKDONE


def test_bad_title_is_refused_by_the_parser(clip: Path, tmp_path: Path) -> None:
    code, lines, stderr = run_timed(argv(clip, tmp_path / "o.mkv", "--title", "first"))
    assert (code, lines) == (2, [])
    assert "not a title number or 'main': 'first'" in stderr


def test_garbage_rip_fails_with_handbrakes_reason(tmp_path: Path) -> None:
    rip = tmp_path / "inbox" / "Garbage.mkv"
    rip.parent.mkdir()
    rip.write_bytes(random.Random(7).randbytes(200_000))
    before = digest(rip)
    out = tmp_path / "work" / "Garbage.mkv"
    code, lines, stderr = run_timed(argv(rip, out, *FAST))
    assert code == 1
    assert stderr.splitlines() == ["HandBrake: No title found."]
    assert digest(rip) == before
    assert only_output(out.parent) == []
    for _t, text in lines:  # stdout stays JSON only
        Progress.from_json(json.loads(text))


def test_missing_source(tmp_path: Path) -> None:
    code, lines, stderr = run_timed(argv(tmp_path / "nope.mkv", tmp_path / "out.mkv"))
    assert (code, lines) == (1, [])
    assert stderr.strip() == f"source not found: {tmp_path / 'nope.mkv'}"


def test_source_cut_short_fails_the_duration_check(tmp_path: Path) -> None:
    """A copy that stopped at 40 %: its header says 20 s, HandBrake encodes what is there."""
    whole = tmp_path / "whole.mkv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=25:duration=20",
         "-c:v", "libx264", "-preset", "ultrafast", str(whole)],
        check=True, timeout=60,
    )  # fmt: skip
    rip = tmp_path / "inbox" / "Cut.mkv"
    rip.parent.mkdir()
    data = whole.read_bytes()
    rip.write_bytes(data[: len(data) * 4 // 10])
    before = digest(rip)
    out = tmp_path / "work" / "Cut.mkv"
    code, _lines, stderr = run_timed(argv(rip, out, *FAST))
    assert code == 1
    (line,) = stderr.splitlines()
    assert re.fullmatch(r"output \d+ s long, source 20 s", line), line
    assert digest(rip) == before
    assert only_output(out.parent) == []


def _start_and_wait_for_progress(args: list[str]) -> tuple[subprocess.Popen[str], psutil.Process]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # blocks until the first progress line (or the end)
    assert first.startswith("{"), first
    children = psutil.Process(proc.pid).children()
    assert [c.name() for c in children] == ["HandBrakeCLI"]
    return proc, children[0]


@pytest.mark.timeout(120)
def test_handbrake_killed_mid_run_fails_and_leaves_no_partial(tmp_path: Path) -> None:
    rip = make_clip(tmp_path / "inbox" / "Long.mp4", seconds=30.0)
    before = digest(rip)
    out = tmp_path / "work" / "Long.mkv"
    proc, handbrake = _start_and_wait_for_progress(argv(rip, out))
    handbrake.send_signal(signal.SIGKILL)
    _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1
    (line,) = stderr.splitlines()
    assert re.fullmatch(r"HandBrake exited with signal 9 \(SIGKILL\) after \d+ %", line), line
    assert digest(rip) == before
    assert only_output(out.parent) == []


@pytest.mark.timeout(120)
def test_sigterm_stops_handbrake_and_cleans_up(tmp_path: Path) -> None:
    rip = make_clip(tmp_path / "inbox" / "Long.mp4", seconds=30.0)
    out = tmp_path / "work" / "Long.mkv"
    proc, handbrake = _start_and_wait_for_progress(argv(rip, out))
    proc.send_signal(signal.SIGTERM)  # what the kubelet sends when the pod is deleted
    _stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert stderr.strip() == "stopped by SIGTERM; the source is untouched"
    handbrake.wait(timeout=10)  # gone with its group, not orphaned
    assert only_output(out.parent) == []
    assert rip.exists()


def test_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", "transcode", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    assert "--preset" in done.stdout and "HQ 1080p30 Surround" in done.stdout


def test_with_a_fail_dir_a_garbage_rip_goes_there_and_a_retry_takes_it_back(
    tmp_path: Path,
) -> None:
    """The pipeline's form: the rip moves to fail/ with the reason; the retry finds it there."""
    from ponyconsole.domain.kube_names import stable_id

    body = random.Random(7).randbytes(200_000)
    rip = tmp_path / "claim" / "movies" / "Garbage.mkv"
    rip.parent.mkdir(parents=True)
    rip.write_bytes(body)
    video = stable_id("movies", rip.name, len(body), None)
    out = tmp_path / "work" / "movies" / video / "Garbage.mkv"
    fail = tmp_path / "fail" / "movies"
    for attempt in (1, 2):
        code, _lines, stderr = run_timed(argv(rip, out, *FAST, "--fail-dir", str(fail)))
        assert code == 1
        last = stderr.strip().splitlines()[-1]
        assert last == f"HandBrake: No title found. (rip moved to {fail / rip.name})"
        if attempt == 2:
            assert stderr.startswith(f"took {rip} back from {fail}"), stderr
        assert not rip.exists()
        assert (fail / rip.name).read_bytes() == body
        assert (fail / "Garbage.mkv.reason").read_text() == "HandBrake: No title found.\n"
        assert sorted(os.listdir(fail)) == ["Garbage.mkv", "Garbage.mkv.reason"]
