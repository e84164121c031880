"""The scan parser on real `HandBrakeCLI --scan --json -t 0` output."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponyconsole.domain.handbrake_scan import ScanError, parse_scan
from tests.fixtures.media import HandBrakeRun

pytestmark = pytest.mark.handbrake


def test_scan_of_a_clip(hb_scan_clip: HandBrakeRun) -> None:
    assert hb_scan_clip.returncode == 0
    # the title set comes after a Version: {...} block and libdvdread noise
    assert hb_scan_clip.stdout.index(b"Version: {") < hb_scan_clip.stdout.index(b"JSON Title Set")
    (title,) = parse_scan(hb_scan_clip.stdout)
    assert title.index == 1
    assert title.duration_seconds == pytest.approx(8.0, abs=0.2)  # the `clip` fixture: 8 s
    assert (title.width, title.height) == (320, 240)
    assert title.chapters == 1
    assert title.name == "clip"
    assert not title.main_feature  # MainFeature is 0 for a plain file


def test_scan_of_a_dvd(hb_scan_dvd: HandBrakeRun) -> None:
    assert hb_scan_dvd.returncode == 0
    (title,) = parse_scan(hb_scan_dvd.stdout + hb_scan_dvd.stderr)
    assert title.duration_seconds == pytest.approx(12.0, abs=0.5)  # make_dvd: 12 s
    assert (title.width, title.height) == (352, 240)
    assert title.chapters >= 1


def test_scan_as_str_too(hb_scan_clip: HandBrakeRun) -> None:
    text = hb_scan_clip.stdout.decode()
    assert parse_scan(text) == parse_scan(hb_scan_clip.stdout)


def test_garbage_file_is_a_scan_error_with_the_reason(hb_scan_garbage: HandBrakeRun) -> None:
    assert hb_scan_garbage.returncode != 0
    with pytest.raises(ScanError, match="No title found"):
        parse_scan(hb_scan_garbage.stdout + hb_scan_garbage.stderr)
    with pytest.raises(ScanError, match="no title set"):
        parse_scan(hb_scan_garbage.stdout)


def test_truncated_title_set_is_a_scan_error(hb_scan_dvd: HandBrakeRun) -> None:
    data = hb_scan_dvd.stdout
    with pytest.raises(ScanError):
        parse_scan(data[: data.index(b"JSON Title Set") + 200])


def test_empty_and_odd_title_sets() -> None:
    with pytest.raises(ScanError, match="printed nothing"):
        parse_scan(b"")
    with pytest.raises(ScanError, match="No title found"):
        parse_scan(b'JSON Title Set: {"MainFeature": -1, "TitleList": []}\n')
    titles = parse_scan(
        b'JSON Title Set: {"MainFeature": 2, "TitleList": [{"Index": 1}, '
        b'{"Index": 2, "Duration": {"Hours": 1, "Minutes": 2, "Seconds": 3}, "Name": "{x}"}]}'
    )
    assert [t.main_feature for t in titles] == [False, True]
    assert titles[1].duration_seconds == 3723.0


@given(st.binary(max_size=3000))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_only_ever_raise_scan_error(data: bytes) -> None:
    with contextlib.suppress(ScanError):
        parse_scan(data)
    with contextlib.suppress(ScanError):
        parse_scan(b"JSON Title Set: " + data)
