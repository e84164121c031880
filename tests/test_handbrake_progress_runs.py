"""Overall progress never goes backwards within a run, on generated HandBrake streams.

The streams mix what HandBrake prints in both forms (task updates with
percentages going forward and back, scans, muxing, ends, errors, noise) with
task numbers that often reset; tests/progress_runs.py states the property.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponyconsole.domain.handbrake_progress import ProgressParser, parse_all
from ponyconsole.domain.models import Progress, ProgressState
from tests.progress_runs import assert_never_backwards_within_a_run, runs

TASK = st.integers(0, 4)
TASKS = st.sampled_from([1, 1, 2, 2, 3, 0, 1001])
PERCENT = st.one_of(st.sampled_from([0.0, 0.5, 12.5, 45.67, 99.9, 100.0]), st.floats(-5.0, 105.0))

TEXT_TASK = st.builds(
    "\rEncoding: task {} of {}, {}{:.2f} %{}".format,
    TASK,
    TASKS,
    st.sampled_from(["", "", "Searching for start time, "]),
    PERCENT.map(abs),  # the text form prints no sign
    st.sampled_from(["", " (40.63 fps, avg 47.59 fps, ETA 00h01m02s)", " (ETA 00h00m07s)"]),
)
JSON_TASK = st.builds(
    (
        '\nProgress: {{\n    "State": "{}",\n    "Working": {{\n        "ETASeconds": 5,\n'
        '        "Hours": {},\n        "Minutes": {},\n        "Pass": {},\n'
        '        "PassCount": {},\n        "PassID": 1,\n        "Paused": 0,\n'
        '        "Progress": {},\n        "Rate": 30.5,\n        "RateAvg": 29.0,\n'
        '        "Seconds": 5,\n        "SequenceID": 1\n    }}\n}}\n'
    ).format,
    st.sampled_from(["WORKING", "WORKING", "PAUSED", "SEARCHING"]),
    st.sampled_from([-1, 0]),
    st.sampled_from([-1, 0]),
    TASK,
    TASKS,
    PERCENT.map(lambda p: p / 100.0),
)
OTHER = st.sampled_from(
    [
        "\rScanning title 1 of 1, preview 3, 30.00 %\r",
        '\nProgress: {"State": "SCANNING", "Scanning": {"Progress": 0.5, "Title": 1}}\n',
        "\rMuxing: this may take awhile...\r",
        '\nProgress: {"State": "MUXING", "Muxing": {"Progress": 0.25}}\n',
        "\nEncode done!\n",
        '\nProgress: {"State": "WORKDONE", "WorkDone": {"Error": 0}}\n',
        '\nProgress: {"State": "WORKDONE", "WorkDone": {"Error": 3}}\n',
        "\nEncode failed (error 3).\n",
        "\nERROR: something\n",
        "\r\xff garbage {",
        "\r",
    ]
)
STREAM = st.lists(st.one_of(TEXT_TASK, TEXT_TASK, JSON_TASK, JSON_TASK, OTHER), max_size=50)


def fed_in_pieces(data: bytes, cuts: list[int]) -> list[Progress]:
    parser = ProgressParser()
    updates: list[Progress] = []
    previous = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        updates += parser.feed(data[previous:cut])
        previous = cut
    return updates + parser.close()


@given(STREAM, st.lists(st.integers(0, 10_000), max_size=10))
@settings(max_examples=500, deadline=None)
def test_overall_progress_never_decreases_within_a_run(parts: list[str], cuts: list[int]) -> None:
    data = ("".join(parts) + "\r").encode()
    updates = fed_in_pieces(data, cuts)
    assert updates == parse_all(data)
    assert_never_backwards_within_a_run(updates)
    tasks = data.count(b"Encoding: task ") + data.count(b'"Working": {')
    assert sum(p.state is not ProgressState.SCANNING for p in updates) >= tasks


def overall(data: bytes) -> list[float]:
    return [round(p.overall_percent, 2) for p in parse_all(data)]


def test_percent_going_back_within_a_task_holds_the_overall() -> None:
    data = (
        b"\rEncoding: task 1 of 2, Searching for start time, 12.50 %"
        b"\rEncoding: task 1 of 2, 0.50 %"
        b"\rEncoding: task 1 of 2, 20.00 %\r"
    )
    assert overall(data) == [6.25, 6.25, 10.0]
    assert [p.percent for p in parse_all(data)] == [12.5, 0.5, 20.0]


def test_a_scan_or_mux_inside_a_run_does_not_take_progress_back() -> None:
    data = (
        b"\rEncoding: task 2 of 2, 50.00 %"
        b"\rScanning title 1 of 1, 30.00 %"
        b"\rMuxing: this may take awhile..."
        b"\rEncoding: task 2 of 2, 60.00 %\r"
    )
    assert overall(data) == [75.0, 75.0, 100.0, 100.0]


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (b"\rEncoding: task 1 of 2, 10.00 %\r", [75.0, 5.0]),  # the task number went down
        (b"\rEncoding: task 1 of 1, 10.00 %\r", [75.0, 10.0]),  # another task count
        (b"\nEncode done!\n\rEncoding: task 2 of 2, 10.00 %\r", [75.0, 100.0, 55.0]),  # an end
        (b"\rEncoding: task 2 of 2, 10.00 %\r", [75.0, 75.0]),  # none of these: the same run
    ],
)
def test_a_new_run_begins_where_the_task_number_resets(
    second: bytes, expected: list[float]
) -> None:
    data = b"\rEncoding: task 2 of 2, 50.00 %" + second
    assert overall(data) == expected
    assert len(runs(parse_all(data))) == (1 if expected[-1] == 75.0 else 2)
