"""The real `ponyconsole parse-progress` process on captured HandBrake output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ponyconsole.domain.handbrake_progress import parse_all
from tests.fixtures.media import HandBrakeRun

pytestmark = pytest.mark.handbrake
KEYS = {"state", "pass", "passes", "percent", "overall_percent", "fps", "avg_fps", "eta_seconds"}


def ponyconsole(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", ["hb_text_2pass", "hb_json_2pass"])
def test_file_and_stdin_give_one_json_object_per_update(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run: HandBrakeRun = request.getfixturevalue(name)
    captured = tmp_path / "handbrake.out"
    captured.write_bytes(run.stdout)
    from_file = ponyconsole("parse-progress", str(captured))
    from_stdin = ponyconsole("parse-progress", "-", stdin=run.stdout)
    assert from_file.returncode == 0, from_file.stderr
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_file.stdout == from_stdin.stdout
    rows = [json.loads(line) for line in from_file.stdout.decode().splitlines()]
    assert [r for r in rows] == [p.as_json() for p in parse_all(run.stdout)]
    assert all(row.keys() >= KEYS for row in rows)
    assert any(row["pass"] == 2 and row["passes"] == 2 for row in rows)
    assert any(isinstance(row["fps"], float) for row in rows)
    overall = [row["overall_percent"] for row in rows]
    assert overall == sorted(overall)
    assert rows[-1]["state"] in ("muxing", "workdone", "working")


def test_failed_run_prints_errors_to_stderr_and_exits_non_zero(hb_garbage: HandBrakeRun) -> None:
    result = ponyconsole("parse-progress", "-", stdin=hb_garbage.stdout + hb_garbage.stderr)
    assert result.returncode == 1
    # a scan progress line shows up when the scan is slow (a loaded machine), nothing else
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert {row["state"] for row in rows} <= {"scanning"}
    assert b"No title found." in result.stderr


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = ponyconsole("parse-progress", str(tmp_path / "nope.log"))
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"nope.log: no such file" in result.stderr
