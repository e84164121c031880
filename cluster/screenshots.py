"""`python -m cluster.screenshots DIR`: SVGs of cluster mode on the REAL test cluster.

Starts a pony cluster of its own, makes the scene of cluster/scene.py, opens the
console on it as a user does (KubeBackend on the cluster's kubeconfig, no agents) at
each size, waits until the view has settled and writes ``kube-real-main-WxH.svg``.
The scenes of ponyconsole/ui/screenshots.py (memory backend) are kept for the rest.
``tests/test_ui_snapshots_cluster.py`` compares the same screens.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from cluster import scene as scene_mod
from cluster.ponycluster import PonyCluster
from ponyconsole.domain.models import JobState
from ponyconsole.ui.app import PonyConsole

SIZES = ((80, 24), (160, 48), (200, 60))
SHOTS: dict[str, list[str]] = {"kube-real-main": []}
SETTLE_TIMEOUT = 60.0


def open_console(cluster: PonyCluster, scene: scene_mod.Scene) -> PonyConsole:
    from ponyconsole.backends.kube.backend import KubeBackend

    backend = KubeBackend(str(cluster.kubeconfig), namespace=scene.namespace, agents=False)
    return PonyConsole(backend, clock=lambda: scene.clock)


def settled(app: PonyConsole) -> bool:
    """Whether the console shows the whole scene: every item in its state, every pony."""
    jobs = list(app.job_list.jobs.values())
    states = sorted(j.state.value for j in jobs)
    want = sorted(["failed", "pending"] + ["running"] * len(scene_mod.WORK))
    if states != want:
        return False
    progress = {
        j.name: round(j.progress.percent, 2)
        for j in jobs
        if j.state is JobState.RUNNING and j.progress is not None and j.progress.pass_ == 2
    }
    if progress != {rip: pct for _pony, rip, pct, *_ in scene_mod.WORK}:
        return False
    if not all(j.reason for j in jobs if j.state in (JobState.PENDING, JobState.FAILED)):
        return False
    nodes = app.ponies.nodes
    return (
        len(nodes) == 6
        and nodes[scene_mod.CORDONED].cordoned
        and not nodes[scene_mod.NOT_READY].ready
        and sum(len(items) for items in app.ponies.items.values()) >= len(scene_mod.WORK)
    )


async def wait_settled(pilot: object, app: PonyConsole, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until :func:`settled`, then for the repaint that follows (a few ticks)."""
    deadline = time.monotonic() + timeout
    while not settled(app):
        if time.monotonic() > deadline:
            jobs = [(j.name, j.state.value, j.progress) for j in app.job_list.jobs.values()]
            raise AssertionError(f"the console did not settle in {timeout:.0f} s: {jobs}")
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # a tick (1 s) publishes progress; repaints merge within 0.12 s
    await pilot.pause()  # type: ignore[attr-defined]


async def _shoot(
    cluster: PonyCluster, scene: scene_mod.Scene, keys: list[str], size: tuple[int, int], path: Path
) -> None:
    app = open_console(cluster, scene)
    async with app.run_test(size=size) as pilot:
        await wait_settled(pilot, app)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        path.write_text(app.export_screenshot(title=path.stem), encoding="utf-8")


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ponyscene-") as tmp:
        cluster = PonyCluster.start(Path(tmp) / "cluster")
        try:
            scene = await asyncio.to_thread(scene_mod.build, cluster, Path(tmp) / "logs")
            for name, keys in SHOTS.items():
                for width, height in SIZES:
                    path = out / f"{name}-{width}x{height}.svg"
                    await _shoot(cluster, scene, keys, (width, height), path)
                    print(path)
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
