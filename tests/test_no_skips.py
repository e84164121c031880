"""A missing tool fails the tests loudly with what to install; nothing skips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures.media import require_tools

TESTS = Path(__file__).resolve().parent


def test_a_missing_tool_fails_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(TESTS))  # none of the tools is in there
    with pytest.raises(pytest.fail.Exception) as failed:
        require_tools()
    message = str(failed.value)
    assert "HandBrakeCLI, ffmpeg, dvdauthor not found on PATH" in message
    assert "scripts/install-system-deps" in message and "handbrake-cli" in message


def test_the_tools_are_installed_here() -> None:
    require_tools()


def test_no_test_skips() -> None:
    # Built from its parts, so this file is not itself listed by a search for skips.
    calls, marks = "skip|importorskip", "skip|skipif|xfail"
    skipping = re.compile(rf"pytest\.({calls})\(|mark\.({marks})\b|unittest\.{calls.split('|')[0]}")
    found = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if skipping.search(line)
    ]
    assert found == []
