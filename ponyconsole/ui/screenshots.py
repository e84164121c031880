"""`python -m ponyconsole.ui.screenshots DIR`: SVGs of the main screens, made by the app itself."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from ponyconsole.backends.memory import MemoryBackend
from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.backends.scenes import (
    NOW,
    big_kube_scene,
    cluster_scene,
    kube_agents_scene,
    kube_scene,
    local_scene,
)
from ponyconsole.ui.app import PonyConsole

SIZES = ((80, 24), (160, 48), (200, 60))

LOG = (
    "Encoding: task 1 of 2, 98.52 % (61.20 fps, avg 58.04 fps, ETA 00h00m02s)",
    "Encoding: task 2 of 2, 41.50 % (38.20 fps, avg 35.53 fps, ETA 00h18m50s)",
)


def local_backend() -> MemoryBackend:
    nodes, jobs, rips = local_scene()
    return MemoryBackend(nodes, jobs, rips, logs={"job0001": LOG})


def cluster_backend() -> MemoryBackend:
    nodes, jobs = cluster_scene()
    return MemoryBackend(nodes, jobs, mode="cluster")


KUBE_LOG = (
    '{"state": "working", "pass": 2, "passes": 2, "percent": 41.5, "overall_percent": 70.75}',
    "Encoding: task 2 of 2, 41.50 % (38.20 fps, avg 35.53 fps, ETA 00h18m50s)",
)


def kube_backend() -> MemoryBackend:
    """Six ponies as the kube backend shows them (no agents yet, several pods per pony)."""
    nodes, jobs = kube_scene()
    return MemoryBackend(nodes, jobs, mode="cluster", logs={"job0001": KUBE_LOG})


def kube_agents_backend() -> MemoryBackend:
    """The ponies with their node agents: figures, one unreachable agent, one without."""
    nodes, jobs = kube_agents_scene()
    return MemoryBackend(nodes, jobs, mode="cluster", logs={"job0001": KUBE_LOG})


def big_kube_backend() -> MemoryBackend:
    nodes, jobs = big_kube_scene()
    return MemoryBackend(nodes, jobs, mode="cluster")


def lost_kube_backend() -> MemoryBackend:
    """The API server went away 42 s ago: every section says how old its data is."""
    backend = kube_backend()
    backend.sources = tuple(
        SourceStatus(name, synced_at=NOW - 42, error="connection refused")
        for name in ("nodes", "jobs", "pods")
    )
    return backend


async def _shoot(make: Callable[[], MemoryBackend], keys: list[str], size: tuple[int, int],
                 path: Path) -> None:  # fmt: skip
    app = PonyConsole(make(), clock=lambda: NOW)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.3)
        path.write_text(app.export_screenshot(title=path.stem), encoding="utf-8")


SHOTS: dict[str, tuple[Callable[[], MemoryBackend], list[str]]] = {
    "local-main": (local_backend, []),
    "local-enqueue": (local_backend, ["e"]),
    # A new library typed in, refused inline: tab to Library, pick "new library…", type.
    "local-enqueue-bad-library": (
        local_backend,
        ["e", "tab", "tab", "tab", "enter", "end", "enter", "full_stop", "full_stop", "slash", "x"],
    ),
    "local-job-detail": (local_backend, ["enter"]),
    "local-help": (local_backend, ["question_mark"]),
    "local-retry-all": (local_backend, ["R"]),
    "local-filter": (local_backend, ["slash", "f", "a", "i", "l"]),
    "cluster-main": (cluster_backend, []),
    "kube-main": (kube_backend, []),
    "kube-pending-detail": (kube_backend, ["down"] * 8 + ["enter"]),
    "kube-running-detail": (kube_backend, ["enter"]),
    "kube-drain": (kube_backend, ["tab", "tab", "d"]),
    "kube-disconnected": (lost_kube_backend, []),
    "kube-agents": (kube_agents_backend, []),
    # applejack (NotReady, its agent unreachable) is the fifth tile: `p` asks to wake it
    "kube-wake": (kube_agents_backend, ["tab"] * 5 + ["p"]),
    "kube-300-nodes": (big_kube_backend, []),
    "kube-300-filter": (big_kube_backend, ["slash", "n", "o", "t", " ", "r", "e", "a", "d", "y"]),
}


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (make, keys) in SHOTS.items():
        for width, height in SIZES:
            path = out / f"{name}-{width}x{height}.svg"
            await _shoot(make, keys, (width, height), path)
            print(path)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
