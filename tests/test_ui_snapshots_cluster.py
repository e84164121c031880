"""Snapshots of cluster mode from the REAL test cluster (pytest-textual-snapshot).

A pony cluster of this module's own (the scene marks a pony NotReady and taints it,
which the session's shared cluster must not carry into other tests) holds the scene
of cluster/scene.py: six running transcodes with progress from CRI log files, a failed
item, a cordoned pony, a NotReady one and a pending item. The console opens on it as
a user does; what would vary is pinned by the scene (see its docstring), and each
snapshot waits until the view has settled. `make screenshots` draws the same screens
(cluster/screenshots.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster import scene as scene_mod
from cluster.ponycluster import ClusterError, PonyCluster
from cluster.screenshots import SHOTS, SIZES, open_console, wait_settled

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def scene_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PonyCluster, scene_mod.Scene]]:
    root: Path = tmp_path_factory.mktemp("scenecluster")
    try:
        cluster = PonyCluster.start(root / "cluster")
    except ClusterError as e:
        pytest.fail(f"the Kubernetes test cluster could not start: {e}", pytrace=False)
    try:
        scene = scene_mod.build(cluster, root / "logs")
        print(f"the failed Job was made {scene.failed_tries} time(s)")
        yield cluster, scene
    finally:
        cluster.stop()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("shot", list(SHOTS))
def test_screen(  # type: ignore[no-untyped-def]
    snap_compare,
    scene_cluster: tuple[PonyCluster, scene_mod.Scene],
    shot: str,
    size: tuple[int, int],
) -> None:
    cluster, scene = scene_cluster
    app = open_console(cluster, scene)

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_settled(pilot, app)

    assert snap_compare(app, press=SHOTS[shot], terminal_size=size, run_before=settle)
