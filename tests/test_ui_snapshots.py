"""Snapshots of the main screens (pytest-textual-snapshot), from fixed scenes.

The same scenes and keys as `make screenshots` (ponyconsole.ui.screenshots.SHOTS),
from the memory backend with a fixed clock, so a snapshot changes only when
the UI does. After a deliberate change: `pytest --snapshot-update`, then look.
Cluster mode on the real test cluster: tests/test_ui_snapshots_cluster.py.
"""

from __future__ import annotations

import pytest

from ponyconsole.backends.scenes import NOW
from ponyconsole.ui.app import PonyConsole
from ponyconsole.ui.screenshots import SHOTS

SIZES = [(80, 24), (160, 48), (200, 60)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("shot", list(SHOTS))
def test_screen(snap_compare, shot: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    make, keys = SHOTS[shot]
    app = PonyConsole(make(), clock=lambda: NOW)
    assert snap_compare(app, press=keys, terminal_size=size)
