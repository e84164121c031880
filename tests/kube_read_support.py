"""Helpers of the tests of the Kubernetes backend: ponyconsole Jobs, raw reads, event waits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

from cluster.ponycluster import (
    OUTCOME_ANNOTATION,
    RUN_DURATION_ANNOTATION,
    START_DELAY_ANNOTATION,
    PonyCluster,
)
from ponyconsole.backends.kube.backend import KubeBackend
from ponyconsole.backends.kube.config import load_cluster_config
from ponyconsole.backends.protocol import BackendEvent, Resync
from ponyconsole.domain.kube_names import (
    JOB_TYPE_LABEL,
    LIBRARY_LABEL,
    OUTPUT_ANNOTATION,
    PART_OF_LABEL,
    PART_OF_VALUE,
    PRESET_ANNOTATION,
    SOURCE_ANNOTATION,
    TITLE_ANNOTATION,
    TRANSCODE,
    VIDEO_LABEL,
    job_name,
)

T = TypeVar("T")


def pony_job(
    rip: str,
    video: str,
    job_type: str = TRANSCODE,
    *,
    start_delay: str = "0s",
    run_duration: str = "1s",
    fail: bool = False,
    node_selector: dict[str, str] | None = None,
    cpu: str = "1",
    memory: str = "512Mi",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Job as the pipeline makes them (labels on the Job and its pod), kwok-steered."""
    labels = {
        PART_OF_LABEL: PART_OF_VALUE,
        JOB_TYPE_LABEL: job_type,
        VIDEO_LABEL: video,
        LIBRARY_LABEL: "movies",
    }
    pod_notes = {START_DELAY_ANNOTATION: start_delay, RUN_DURATION_ANNOTATION: run_duration}
    if fail:
        pod_notes[OUTCOME_ANNOTATION] = "fail"
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": job_type,
                "image": "ponyconsole/handbrake:test",
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }
        ],
    }
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(rip, job_type),
            "labels": labels,
            "annotations": {
                SOURCE_ANNOTATION: f"/srv/inbox/movies/{rip}",
                PRESET_ANNOTATION: "Fast 1080p30",
                TITLE_ANNOTATION: "1",
                OUTPUT_ANNOTATION: f"/srv/library/movies/{rip}.mkv",
                **(annotations or {}),
            },
        },
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": {"labels": labels, "annotations": pod_notes}, "spec": spec},
        },
    }


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
