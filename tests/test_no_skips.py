"""A missing tool fails the tests loudly with what to install; nothing skips."""

from __future__ import annotations

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


# Each way pytest offers to not run a test, as a small test file of its own.
WAYS_NOT_TO_RUN = {
    "call": "import pytest\n\ndef test_it():\n    pytest.{call}('HandBrakeCLI missing')\n",
    "mark": "import pytest\n\n@pytest.mark.{call}(reason='no cluster')\ndef test_it():\n    pass\n",
    "module": "import pytest\n\npytest.{module}('a_module_that_is_not_installed')\n\n"
    "def test_it():\n    pass\n",
    "xfail": "import pytest\n\n@pytest.mark.{xfail}(reason='flaky')\ndef test_it():\n"
    "    assert False\n",
}
NAMES = {
    "call": pytest.skip.__name__,
    "module": pytest.importorskip.__name__,
    "xfail": pytest.xfail.__name__,
}


@pytest.mark.parametrize("way", sorted(WAYS_NOT_TO_RUN))
def test_a_test_that_would_not_run_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    pytester.makepyfile(test_inner=WAYS_NOT_TO_RUN[way].format(**NAMES))
    monkeypatch.setenv("PYTHONPATH", str(TESTS.parent))  # tests.fixtures.no_skips
    result = pytester.runpytest_subprocess(
        "-p", "tests.fixtures.no_skips", "-p", "no:cacheprovider", timeout=120
    )
    assert result.ret != 0, result.stdout.str()
    assert "nothing may be skipped or expected to fail here" in result.stdout.str()
    outcomes = result.parseoutcomes()
    assert not {"skipped", "xfailed", "xpassed"} & set(outcomes), outcomes
