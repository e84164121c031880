"""The progress parser on output of the real HandBrakeCLI (tests/fixtures/media.py)."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponyconsole.domain import handbrake_progress as hp
from ponyconsole.domain.handbrake_progress import ProgressParser, parse_all
from ponyconsole.domain.models import Progress, ProgressDraft, ProgressState
from tests.fixtures.media import HandBrakeRun
from tests.progress_runs import assert_never_backwards_within_a_run, runs

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
    for p in updates:
        assert 0.0 <= p.percent <= 100.0
        assert 0.0 <= p.overall_percent <= 100.0
        assert 1 <= p.pass_ <= p.passes
    assert len(runs(updates)) == 1  # one encode
    assert_never_backwards_within_a_run(updates)


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
    assert all(p.fps > 0 and (p.avg_fps is None or p.avg_fps > 0) for p in with_rate)
    with_eta = [p for p in working if p.eta_seconds is not None]
    assert with_eta, "no ETA parsed"
    assert all(p.eta_seconds >= 0 for p in with_eta)
    if name.startswith("hb_text"):  # the text form prints rates and ETA together
        assert with_rate == with_eta
        assert all(p.avg_fps is not None for p in with_rate)
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
    updates = parser.feed(hb_garbage.stdout + hb_garbage.stderr) + parser.close()
    # a scan progress line shows up when the scan is slow (a loaded machine), nothing else
    assert {p.state for p in updates} <= {ProgressState.SCANNING}
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
    assert (updates, parser.errors) == (parse_all(data), fed_in(data, [])[1].errors)
    for p in updates:
        assert 0.0 <= p.percent <= 100.0 and 0.0 <= p.overall_percent <= 100.0
        assert 1 <= p.pass_ <= p.passes
    assert_never_backwards_within_a_run(updates)
    reason = parser.failure_reason
    if reason is not None:  # it names one of the errors
        assert reason.removeprefix("HandBrake: ") in parser.errors
    elif parser.errors:  # errors but no failure: only after a successful end
        assert any(p.message == "Encode done" for p in updates)


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
    assert_never_backwards_within_a_run(whole)


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
    assert_sane(split)


# -- the fast paths (runs of WORKING lines / blocks) against the general path --


def outcome(data: bytes, cuts: list[int]) -> tuple[str, list[str], str | None, str]:
    """Everything observable, repr'd so that 0.0 vs -0.0 or 2 vs 2.0 would show."""
    updates, parser = fed_in(data, cuts)
    return repr(updates), parser.errors, parser.failure_reason, repr(parser.last)


def fast_and_general(data: bytes, cuts: list[int]) -> tuple[object, object]:
    """The parser as is, and with its fast alternatives unable to match."""
    fast = outcome(data, cuts)
    never = ("(?!)(?P<textrun>)", "(?!)(?P<jsonrun>)")  # same group numbers
    general_marker = re.compile("|".join(never + hp._GENERAL))
    assert general_marker.groupindex == hp._MARKER.groupindex
    saved, hp._MARKER = hp._MARKER, general_marker
    try:
        general = outcome(data, cuts)
    finally:
        hp._MARKER = saved
    return fast, general


def test_progress_draft_becomes_a_real_progress() -> None:
    assert ProgressDraft.__slots__ == Progress.__slots__
    values = (ProgressState.WORKING, 2, 2, 45.5, 72.75, 30.0, 29.5, 62, None)
    draft = ProgressDraft(*values)
    draft.__class__ = Progress  # type: ignore[assignment]
    made = Progress(*values)
    assert type(draft) is Progress and draft == made and hash(draft) == hash(made)
    assert repr(draft) == repr(made) and draft.as_json() == made.as_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.percent = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("name", ENCODES)
def test_fast_paths_match_the_general_path_on_real_output(
    name: str, request: pytest.FixtureRequest
) -> None:
    run: HandBrakeRun = request.getfixturevalue(name)
    data = run.stdout + run.stderr
    fast, general = fast_and_general(data, [])
    assert fast == general
    assert hp._MARKER.search(data.decode(errors="replace")) is not None


_BLOCK = (
    'Progress: {{\n    "State": "WORKING",\n    "Working": {{\n        "ETASeconds": {},\n'
    '        "Hours": {},\n        "Minutes": -1,\n        "Pass": {},\n'
    '        "PassCount": {},\n        "PassID": {},\n        "Paused": 0,\n'
    '        "Progress": {},\n        "Rate": {},\n        "RateAvg": 0.5,\n'
    '        "Seconds": -1,\n        "SequenceID": 1\n    }}\n}}\n'
)
ODD = ["0", "-0", "-1", "3", "12", "99", "100", "1000", "01", "007", "0.5", "1.", "-0.0", "1e-8",
       "2E+1", "1e400", "100.00", "100.01", "1234567890", "12345678901234567890", "true", "null",
       '"1"', "\u0661", ""]  # fmt: skip


@pytest.mark.parametrize("form", ["text", "json"])
def test_fast_paths_match_the_general_path_on_every_odd_field(form: str) -> None:
    """Each field of a typical update, in turn, replaced by each odd value."""
    if form == "text":
        template = "\rEncoding: task {} of {}, {} % ({} fps, avg {} fps, ETA {}h{}m{}s)"
        usual = ["1", "2", "45.67", "40.63", "47.59", "00", "01", "02"]
        before, after = "\rEncoding: task 1 of 2, 40.00 %", "\rEncoding: task 2 of 2, 1.00 %\r"
    else:
        template = _BLOCK
        usual = ["4", "0", "2", "2", "2", "0.29333332180976868", "5.1229470443558967e-8"]
        before, after = "\n", _BLOCK.format(*usual)
    for i, odd in itertools.product(range(len(usual)), ODD):
        values = [*usual]
        values[i] = odd
        for suffix in ("", " (ETA 00h00m07s)"):  # the general path's short form too
            if suffix and form == "json":
                continue
            line = (
                template.format(*values)
                if not suffix
                else template.split(" (")[0].format(*values[:3]) + suffix
            )
            data = (before + line + after).encode()
            fast, general = fast_and_general(data, [])
            assert fast == general, (i, odd, data)


def field(*usual: str) -> st.SearchStrategy[str]:
    """Mostly a value HandBrake prints, now and then an odd one."""
    return st.one_of(*[st.sampled_from(usual)] * 6, st.sampled_from(ODD))


TEXT_LINE = st.builds(
    "\rEncoding: task {} of {}, {} %{}".format,
    field("1", "2", "3", "0"),
    field("2", "100"),
    field("0.00", "45.67", "99.67", "100.00", "100.01"),
    st.one_of(
        st.just(""),
        st.builds(
            " ({} fps, avg {} fps, ETA {}h{}m{}s)".format,
            field("40.63", "0.00"),
            field("47.59"),
            field("00", "01", "100"),
            field("00", "59", "60"),
            field("04", "59", "99"),
        ),
    ),
)
JSON_BLOCK = st.builds(
    _BLOCK.format,
    field("0", "5", "120"),
    field("-1", "0", "1"),
    field("1", "2"),
    field("2"),
    field("1", "2", "-1"),
    field("0", "0.29333332180976868", "1", "1.0"),
    field("0.0", "5.1229470443558967e-8", "40.5"),
)
OTHER = st.sampled_from(["\r", "\n", "x", " ", "\rMuxing: this may take awhile...",
                         ", Searching for start time, ", "\nERROR: no", "Encode done!\n",
                         " (ETA 00h00m07s)", "Progress: {", "}"])  # fmt: skip


@given(
    st.lists(st.one_of(TEXT_LINE, TEXT_LINE, JSON_BLOCK, OTHER), max_size=40),
    st.lists(st.integers(0, 6000), max_size=8),
)
@settings(max_examples=400, deadline=None)
def test_fast_paths_match_the_general_path_on_near_misses(
    parts: list[str], cuts: list[int]
) -> None:
    data = "".join(parts).encode()
    fast, general = fast_and_general(data, [c for c in cuts if c <= len(data)])
    assert fast == general


def test_a_rate_before_the_eta_is_reported_on_both_paths(hb_json_2pass: HandBrakeRun) -> None:
    """HandBrake --json gives Rate while Hours/Minutes/Seconds are still -1 (DVD sources)."""
    known = re.compile(rb'"Hours": [0-9]+,\n        "Minutes": [0-9]+,')
    assert known.search(hb_json_2pass.stdout), "the fixture has no block with an ETA"
    edited = known.sub(b'"Hours": -1,\n        "Minutes": -1,', hb_json_2pass.stdout)
    edited = re.sub(rb'"Seconds": [0-9]+,', b'"Seconds": -1,', edited)
    fast, general = fast_and_general(edited, [])
    assert fast == general
    marks = [m.lastindex for m in hp._MARKER.finditer(edited.decode())]
    assert hp._JSON_RUN in marks  # the fast path ran on them

    before, after = parse_all(hb_json_2pass.stdout), parse_all(edited)
    assert len(before) == len(after)
    rates = [
        (float(rate), float(avg))
        for rate, avg in re.findall(rb'"Rate": ([0-9.e+-]+),\n +"RateAvg": ([0-9.e+-]+)', edited)
    ]
    working = [p for p in after if p.state is ProgressState.WORKING]
    assert len(working) == len(rates)
    assert all(p.eta_seconds is None for p in after)  # only the ETA is unknown
    for p, (rate, avg) in zip(working, rates, strict=True):
        assert p.fps == (rate if rate >= 0.005 else None)
        assert p.avg_fps == (avg if avg >= 0.005 else None)
    assert sum(p.fps is not None for p in working) >= 5
    assert sum(p.avg_fps is not None for p in working) >= 5
    for b, a in zip(before, after, strict=True):  # everything else as parsed unedited
        assert dataclasses.replace(b, eta_seconds=None) == a
    # the unedited output already has updates with a rate and no ETA yet
    assert any(p.fps is not None and p.eta_seconds is None for p in before)
