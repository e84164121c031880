"""Helpers of the tests of the Kubernetes backend: ponyconsole Jobs, raw reads, event waits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

from cluster.jobs import pony_job  # noqa: F401  (the tests import it from here)
from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.backend import KubeBackend
from ponyconsole.backends.kube.config import load_cluster_config
from ponyconsole.backends.protocol import BackendEvent, Resync

T = TypeVar("T")


def create_job(cluster: PonyCluster, namespace: str, body: dict[str, Any]) -> None:
    client.BatchV1Api(cluster._admin()).create_namespaced_job(namespace, body)


def raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """What the API server sent, as JSON (the form the backend reads)."""
    return json.loads(call(*args, _preload_content=False, **kwargs).data)


def backend_for(cluster: PonyCluster, namespace: str, **kwargs: Any) -> KubeBackend:
    config = load_cluster_config(str(cluster.kubeconfig), namespace=namespace)
    # these tests are about the API's sources; the agents' own: tests/test_kube_agents.py
    kwargs.setdefault("agents", False)
    return KubeBackend(cluster=config, **kwargs)


def wait_sync(func: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = func()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


async def wait_for(func: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = func()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


class Recorder:
    """Reads a backend's event stream into a list (a task on the loop)."""

    def __init__(self, backend: KubeBackend) -> None:
        self.events: list[tuple[float, BackendEvent]] = []
        self._stream = backend.events()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self._stream:  # type: ignore[attr-defined]
            self.events.append((time.monotonic(), event))

    def of(self, kind: type[T]) -> list[T]:
        return [e for _, e in self.events if isinstance(e, kind)]

    def resyncs(self) -> list[Resync]:
        return self.of(Resync)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def compact_etcd(cluster: PonyCluster) -> int:
    """Compact the cluster's etcd up to its current revision (etcd's JSON gateway); the revision."""
    import urllib.request
    from pathlib import Path

    cmdline = Path(f"/proc/{cluster.pids['etcd']}/cmdline").read_bytes().split(b"\0")
    urls = next(a for a in cmdline if a.startswith(b"--advertise-client-urls="))
    base = urls.split(b"=", 1)[1].split(b",")[0].decode()

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            base + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    revision = int(post("/v3/kv/range", {"key": "Lw=="})["header"]["revision"])
    post("/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision
