"""The progress parser on output of the real HandBrakeCLI (tests/fixtures/media.py)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponyconsole.domain.handbrake_progress import ProgressParser, parse_all
from ponyconsole.domain.models import Progress, ProgressState
from tests.fixtures.media import HandBrakeRun

pytestmark = pytest.mark.handbrake
ENCODES = ["hb_text_1pass", "hb_text_2pass", "hb_json_1pass", "hb_json_2pass"]
FIXTURE_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def fed_in(data: bytes, cuts: list[int]) -> tuple[list[Progress], ProgressParser]:
    parser = ProgressParser()
    updates: list[Progress] = []
    previous = 0
    for cut in [*sorted(cuts), len(data)]:
        updates += parser.feed(data[previous:cut])
        previous = cut
    return updates + parser.close(), parser


def assert_sane(updates: list[Progress]) -> None:
    assert updates
    previous: Progress | None = None
    for p in updates:
        assert 0.0 <= p.percent <= 100.0
        assert 0.0 <= p.overall_percent <= 100.0
        assert 1 <= p.pass_ <= p.passes
        if previous is not None and p.state is not ProgressState.SCANNING:
            assert p.overall_percent >= previous.overall_percent, (previous, p)
        previous = p


@pytest.mark.parametrize("name", ENCODES)
def test_real_encode_progress(name: str, request: pytest.FixtureRequest) -> None:
    run: HandBrakeRun = request.getfixturevalue(name)
    assert run.returncode == 0, run.stderr[-2000:]
    updates = parse_all(run.stdout)
    assert_sane(updates)
    working = [p for p in updates if p.state is ProgressState.WORKING]
    assert len(working) >= 5
    two_pass = "2pass" in name
    assert {p.passes for p in working} == {2 if two_pass else 1}
    if two_pass:
        assert any(p.pass_ == 2 for p in working)
        assert working[0].pass_ == 1
        # pass 2 at q % is (1 + q/100) / 2 overall
        p2 = next(p for p in working if p.pass_ == 2)
        assert p2.overall_percent == pytest.approx(50 + p2.percent / 2)
    # HandBrake prints rates after ~4 s of encoding; the fixture runs long enough
    with_rate = [p for p in working if p.fps is not None]
    assert with_rate, "no fps parsed"
    assert all(p.fps > 0 and p.avg_fps > 0 and p.eta_seconds >= 0 for p in with_rate)
    if name.startswith("hb_text"):
        assert len(working) == run.stdout.count(b"Encoding: task ")
        assert len(with_rate) == run.stdout.count(b" fps, avg ")
        # a quick mux is sometimes never reported: the text form then ends at ~99.6 %
        assert updates[-1].state in (ProgressState.MUXING, ProgressState.WORKING)
        assert updates[-1].overall_percent >= 99.0
        assert (updates[-1].state is ProgressState.MUXING) == (b"Muxing: " in run.stdout)
    else:
        assert len(updates) == run.stdout.count(b"Progress: {")
        assert updates[-1].state is ProgressState.WORKDONE
        assert updates[-1].message == "Encode done"
        assert updates[-1].overall_percent == 100.0


@pytest.mark.parametrize("name", ENCODES)
def test_stderr_merged_adds_done_and_no_failure(name: str, request: pytest.FixtureRequest) -> None:
    run: HandBrakeRun = request.getfixturevalue(name)
    parser = ProgressParser()
    updates = parser.feed(run.stdout) + parser.feed(run.stderr) + parser.close()
    assert_sane(updates)
    assert parser.last is not None and parser.last.state is ProgressState.WORKDONE
    # "udfread ERROR: ECMA 167 Volume Recognition failed" is printed by every encode
    assert b"udfread ERROR" in run.stderr
    assert parser.errors == []
    assert parser.failure_reason is None


@pytest.mark.parametrize("name", ENCODES)
def test_byte_by_byte_equals_all_at_once(name: str, request: pytest.FixtureRequest) -> None:
    run: HandBrakeRun = request.getfixturevalue(name)
    data = run.stdout + run.stderr
    whole, _ = fed_in(data, [])
    single, _ = fed_in(data, list(range(1, len(data))))
    assert single == whole


def test_garbage_input_reports_no_title(hb_garbage: HandBrakeRun) -> None:
    assert hb_garbage.returncode != 0
    parser = ProgressParser()
    assert parser.feed(hb_garbage.stdout + hb_garbage.stderr) + parser.close() == []
    assert parser.errors == ["No title found."]
    assert parser.failure_reason == "HandBrake: No title found."


def test_missing_input_reports_no_title(hb_missing: HandBrakeRun) -> None:
    assert hb_missing.returncode != 0
    parser = ProgressParser()
    parser.feed(hb_missing.stderr)
    parser.close()
    assert parser.failure_reason == "HandBrake: No title found."


def test_failed_encode_reason_prefers_the_specific_error() -> None:
    # HandBrake 1.6.1, -o into a folder that does not exist (stdout then stderr lines)
    data = (
        b'Progress: {\n    "State": "WORKDONE",\n    "WorkDone": {\n        "Error": 3,\n'
        b'        "SequenceID": 1\n    }\n}\n'
        b"udfread ERROR: ECMA 167 Volume Recognition failed\n"
        b"ERROR: avio_open2 failed, errno -2: Could not write to indicated output file.\n"
        b"\nEncode failed (error 3).\n"
    )
    parser = ProgressParser()
    updates = parser.feed(data) + parser.close()
    assert [p.state for p in updates] == [ProgressState.WORKDONE]
    assert parser.errors == [
        "Encode failed (error 3).",
        "avio_open2 failed, errno -2: Could not write to indicated output file.",
    ]
    assert parser.failure_reason == (
        "HandBrake: avio_open2 failed, errno -2: Could not write to indicated output file."
    )


def test_text_forms_not_in_the_fixtures() -> None:
    data = (
        b"\rScanning title 1 of 1, preview 3, 30.00 %"
        b"\rEncoding: task 1 of 2, Searching for start time, 12.50 % (ETA 00h00m07s)"
        b"\rEncoding: task 1 of 2, 45.67 % (123.45 fps, avg 110.20 fps, ETA 00h01m02s)"
        b"\rInvalid preset Nope\nMissing input device. Run HandBrakeCLI --help for syntax.\n"
        b"\rEncoding: task 2 of 2, 10.00 %"  # no terminator: only close() completes it
    )
    parser = ProgressParser()
    updates = parser.feed(data)
    scan, search, work = updates
    assert scan.state is ProgressState.SCANNING and scan.percent == 30.0
    assert scan.message == "Scanning title 1 of 1, preview 3"
    assert search.state is ProgressState.SEARCHING and search.eta_seconds == 7
    assert (work.fps, work.avg_fps, work.eta_seconds) == (123.45, 110.2, 62)
    assert work.overall_percent == pytest.approx(45.67 / 2)
    assert parser.errors == ["Invalid preset Nope", "Missing input device."]
    (last,) = parser.close()
    assert (last.pass_, last.percent) == (2, 10.0)
    assert last.overall_percent == pytest.approx(55.0)


def test_truncated_json_block_is_dropped_at_eof(hb_json_2pass: HandBrakeRun) -> None:
    data = hb_json_2pass.stdout
    cut = data.rindex(b"Progress: {") + 30
    updates = parse_all(data[:cut])
    assert len(updates) == data[:cut].count(b"Progress: {") - 1
    assert_sane(updates)


def test_invalid_utf8_and_garbage_between_blocks(hb_json_1pass: HandBrakeRun) -> None:
    noisy = hb_json_1pass.stdout.replace(b"\nProgress: {", b"\n\xff\xfe}{Progress: {{\nProgress: {")
    assert parse_all(noisy) == parse_all(hb_json_1pass.stdout)


@given(st.binary(max_size=4000), st.lists(st.integers(0, 4000), max_size=20))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    updates, parser = fed_in(data, [c for c in cuts if c <= len(data)])
    for p in updates:
        assert 0.0 <= p.percent <= 100.0 and 0.0 <= p.overall_percent <= 100.0
    parser.failure_reason  # noqa: B018


@given(st.lists(st.sampled_from([
    b"Progress: {", b"Encoding: task 1 of 2, ", b"45.5 %",
    b" (1.0 fps, avg 2.0 fps, ETA 00h00m01s)",
    b"\r", b"\n", b"}", b'"State": "WORKING"', b"ERROR: x", b"\xff", b"Muxing: ", b"{", b'"',
    b"Encode failed (error 3).", b"Scanning title 1 of 1, 30.00 %", b"No title found.",
]), max_size=60), st.lists(st.integers(0, 2000), max_size=10))  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_adversarial_fragments_split_anywhere_give_the_same_result(
    parts: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(parts)
    whole, p1 = fed_in(data, [])
    split, p2 = fed_in(data, [c for c in cuts if c <= len(data)])
    assert split == whole
    assert p1.errors == p2.errors


@pytest.mark.parametrize("name", ENCODES)
@given(cuts=st.lists(st.integers(0, 60_000), max_size=40))
@FIXTURE_SETTINGS
def test_real_output_split_anywhere_is_identical_and_monotonic(
    name: str, request: pytest.FixtureRequest, cuts: list[int]
) -> None:
    run: HandBrakeRun = request.getfixturevalue(name)
    data = run.stdout + run.stderr
    whole, p1 = fed_in(data, [])
    split, p2 = fed_in(data, [c % (len(data) + 1) for c in cuts])
    assert split == whole
    assert (p1.errors, p1.failure_reason) == (p2.errors, p2.failure_reason)
    for before, after in itertools.pairwise(split):
        if before.pass_ == after.pass_ and after.state is not ProgressState.SCANNING:
            assert after.overall_percent >= before.overall_percent
