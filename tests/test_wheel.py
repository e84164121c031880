"""A plain `pip install .` starts the console: the wheel holds everything the app loads.

The wheel is built from a copy of the sources (as `pip install .` builds it),
installed with pip into a fresh venv of the same Python, and the console is
started there headless, from a directory that is not the source tree. The
dependencies come from the test venv through a path entry (not re-downloaded);
its editable install of ponyconsole is not on that path, so only the wheel's
copy can be imported. About 10 s, most of it the isolated build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)

STARTS = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import ponyconsole
    from ponyconsole.backends.memory import MemoryBackend
    from ponyconsole.backends.scenes import NOW, local_scene
    from ponyconsole.ui.app import PonyConsole

    here = Path(ponyconsole.__file__).resolve()
    assert here.is_relative_to(Path(sys.prefix).resolve()), f"imported {here}, not the wheel"
    css = Path(PonyConsole.CSS_PATH)
    assert css.is_file(), f"stylesheet missing: {css}"

    async def main():
        nodes, jobs, rips = local_scene()
        app = PonyConsole(MemoryBackend(nodes, jobs, rips), clock=lambda: NOW)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.3)
            tiles = len(app.query("PonyTile"))
            assert tiles == len(nodes), tiles
            await pilot.press("e")
            await pilot.pause(0.3)
            print("started", type(app.screen).__name__, tiles)

    asyncio.run(main())
    """
)


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_installed_wheel_starts_the_console(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "ponyconsole", src / "ponyconsole", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", src, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("ponyconsole-*.whl")
    assert "ponyconsole/ui/styles/app.tcss" in zipfile.ZipFile(wheel).namelist()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(*pip, "--python", python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
    )
    deps = sysconfig.get_path("purelib")  # textual, rich, ... of the test venv
    (Path(purelib.stdout.strip()) / "test-deps.pth").write_text(deps + "\n")

    assert "usage" in run(venv / "bin" / "ponyconsole", "--help", cwd=tmp_path).stdout.lower()
    started = run(python, "-c", STARTS, cwd=tmp_path)
    assert started.stdout.split() == ["started", "EnqueueScreen", "1"]
