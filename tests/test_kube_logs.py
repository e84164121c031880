"""Pod log lines -> progress: real HandBrake output as kwok serves it, and JSON lines."""

from __future__ import annotations

import json

import pytest

from cluster.crilog import cri_log_records
from ponyconsole.backends.kube.logs import LineDecoder, json_progress
from ponyconsole.domain.handbrake_progress import parse_all
from ponyconsole.domain.models import Progress, ProgressState
from tests.fixtures.media import HandBrakeRun

pytestmark = pytest.mark.handbrake


def served_lines(output: bytes) -> list[str]:
    """The lines a pod log gives back for this output (CRI records, one per line)."""
    records = cri_log_records(output.decode("utf-8", "replace").splitlines())
    return [record.split(" ", 3)[3] for record in records.splitlines()]


@pytest.mark.parametrize("run", ["hb_text_2pass", "hb_json_2pass", "hb_json_1pass"])
def test_real_handbrake_output_line_by_line_gives_the_parsers_progress(
    run: str, request: pytest.FixtureRequest
) -> None:
    hb: HandBrakeRun = request.getfixturevalue(run)
    assert hb.returncode == 0
    expected = [p for p in parse_all(hb.stdout) if p.state is ProgressState.WORKING]
    assert len(expected) > 5
    decoder = LineDecoder()
    seen: list[Progress] = []
    for line in served_lines(hb.stdout):
        progress = decoder.feed_line(line)
        if progress is not None and progress.state is ProgressState.WORKING:
            seen.append(progress)
    assert [p.overall_percent for p in seen] == [p.overall_percent for p in expected]
    assert seen[-1].passes == expected[-1].passes
    assert seen[-1].overall_percent > 90.0


def test_json_progress_lines_are_read_per_line_among_other_output() -> None:
    first = Progress(ProgressState.WORKING, 1, 2, 40.0, 20.0, fps=31.5, eta_seconds=90)
    second = Progress(ProgressState.WORKING, 2, 2, 50.0, 75.0, fps=30.0, eta_seconds=20)
    decoder = LineDecoder()
    assert decoder.feed_line("transcode: starting on rarity") is None
    assert decoder.feed_line(json.dumps(first.as_json())) == first
    assert decoder.feed_line('{"not": "progress"}') is None
    assert decoder.feed_line(json.dumps(second.as_json())) == second
    assert decoder.last == second


@pytest.mark.parametrize(
    "line",
    ['{"state": "nope"}', '{"state": "working", "percent": "x"}', "{", '{"state": ', "[1]"],
)
def test_bad_json_lines_are_not_progress(line: str) -> None:
    assert json_progress(line) is None
    assert LineDecoder().feed_line(line) is None


@pytest.mark.parametrize("run", ["hb_text_2pass", "hb_json_2pass"])
@pytest.mark.parametrize("size", [7, 4096, None])
def test_real_handbrake_output_read_in_pieces_gives_the_latest_progress_of_each(
    run: str, size: int | None, request: pytest.FixtureRequest
) -> None:
    """As a followed log is read: raw bytes split anywhere, ``\\r`` progress before any
    ``\\n``; each read gives the newest update in it, in the parser's order."""
    hb: HandBrakeRun = request.getfixturevalue(run)
    expected = parse_all(hb.stdout)
    assert len(expected) > 5
    data = hb.stdout
    pieces = [data] if size is None else [data[i : i + size] for i in range(0, len(data), size)]
    decoder = LineDecoder()
    seen = [p for p in map(decoder.feed, pieces) if p is not None]
    assert seen[-1] == expected[-1] == decoder.last
    positions = [expected.index(p) for p in seen]  # each one is an update the parser gives
    assert positions == sorted(positions)
    if size is None:
        assert len(seen) == 1


def test_text_progress_shows_before_any_newline() -> None:
    decoder = LineDecoder()
    first = decoder.feed(
        b"\rEncoding: task 1 of 1, 12.50 % (30.00 fps, avg 29.00 fps, ETA 00h01m00s)"
    )
    assert first is None  # the line may still grow
    later = decoder.feed(b"\rEncoding: task 1 of 1, 13.00 %")
    assert later is not None and later.overall_percent == 12.5
    assert decoder.feed(b"\r") is not None and decoder.last.overall_percent == 13.0


def test_a_json_line_split_across_reads_and_mixed_with_raw_output_keeps_the_order() -> None:
    json_line = json.dumps(Progress(ProgressState.WORKING, 1, 1, 40.0, 40.0).as_json()).encode()
    decoder = LineDecoder()
    assert decoder.feed(json_line[:10]) is None
    assert decoder.feed(json_line[10:20]) is None
    assert decoder.feed(json_line[20:] + b"\n").overall_percent == 40.0
    raw = b"Encoding: task 1 of 1, 45.00 %\n"
    newer = json.dumps(Progress(ProgressState.WORKING, 1, 1, 50.0, 50.0).as_json()).encode()
    assert decoder.feed(raw + newer + b"\n").overall_percent == 50.0  # the JSON line is later
    assert decoder.feed(newer + b"\n" + raw).overall_percent == 45.0  # the raw line is later


def test_an_overlong_line_is_no_json_and_the_next_line_is_read() -> None:
    decoder = LineDecoder()
    assert decoder.feed(b"x" * 10_000) is None
    assert decoder.feed(b'{"state": "working"' + b"x" * 5000) is None
    line = json.dumps(Progress(ProgressState.WORKING, 1, 1, 7.0, 7.0).as_json()).encode()
    assert decoder.feed(b"}\n" + line + b"\n").overall_percent == 7.0
