"""Snapshots of the main screens (pytest-textual-snapshot), from fixed scenes.

The scenes come from the memory backend with a fixed clock, so a snapshot
changes only when the UI does. Update with `pytest --snapshot-update` and
look at the report before committing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ponyconsole.backends.memory import MemoryBackend
from ponyconsole.backends.scenes import NOW
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.screenshots import cluster_backend, local_backend

SIZES = [(80, 24), (160, 48)]

CASES: dict[str, tuple[Callable[[], MemoryBackend], list[str]]] = {
    "main": (local_backend, []),
    "enqueue": (local_backend, ["e"]),
    "job_detail": (local_backend, ["enter"]),
    "help": (local_backend, ["question_mark"]),
    "retry_all_confirm": (local_backend, ["R"]),
    "filter": (local_backend, ["slash", "f", "a", "i", "l"]),
    "cluster": (cluster_backend, []),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_screen(snap_compare, case: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    make, keys = CASES[case]
    app = PonyConsole(make(), clock=lambda: NOW)
    assert snap_compare(app, press=keys, terminal_size=size)
