"""The `ponyconsole` command's wiring: a broken subcommand fails loudly, the others still work."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ponyconsole import cli


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A subcommand whose module imports something that is not installed."""
    (tmp_path / "broken_subcommand.py").write_text(
        "import no_such_dependency_here\n\n"
        "def add_arguments(parser):\n    parser.add_argument('--flag')\n\n"
        "def run(args):\n    return 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", ("broken_subcommand", "a broken one"))
    yield "broken"
    sys.modules.pop("broken_subcommand", None)


def test_a_broken_subcommand_fails_naming_its_module(
    broken: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([broken, "--flag", "x"]) == 2
    err = capsys.readouterr().err
    assert "ponyconsole broken: its module broken_subcommand does not import" in err
    assert "no_such_dependency_here" in err


def test_a_broken_subcommand_does_not_break_the_others(
    broken: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    captured = tmp_path / "out.txt"
    captured.write_bytes(b"\rEncoding: task 1 of 1, 50.00 %\r")
    assert cli.main(["parse-progress", str(captured)]) == 0
    assert '"percent": 50.0' in capsys.readouterr().out
    with pytest.raises(SystemExit) as help_exit:  # the list still names every subcommand
        cli.main(["--help"])
    assert help_exit.value.code == 0
    assert "broken" in capsys.readouterr().out


def test_only_the_chosen_subcommand_is_imported() -> None:
    """`ponyconsole parse-progress` never pays for Textual's import."""
    code = (
        "import sys\nfrom ponyconsole import cli\n"
        "cli.build_parser('parse-progress')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
