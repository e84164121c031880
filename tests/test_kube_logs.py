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
