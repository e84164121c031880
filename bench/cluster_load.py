"""What the cluster benches put on the pony test cluster, and what they read back from it.

ponyconsole-labelled transcode Jobs (finished ones, and long-running ones whose pod logs
grow), node cordons, and the API server's own request counter (``apiserver_request_total``
of /metrics).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cluster.ponycluster import (
    OUTCOME_ANNOTATION,
    RUN_DURATION_ANNOTATION,
    START_DELAY_ANNOTATION,
    PonyCluster,
)
from ponyconsole.domain import kube_names as kn

NAME = "Bench Movie"  # every finished Job's rip is "Bench Movie 0001", ...
LIVE_NAME = "Bench Live"  # the running transcodes


def ensure_namespace(cluster: PonyCluster, namespace: str, timeout: float = 30.0) -> None:
    """Create ``namespace`` and wait for its default ServiceAccount (pods need it)."""
    from kubernetes import client

    core = client.CoreV1Api(cluster.api_client())
    try:
        core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]
    except client.ApiException as e:
        if e.status != 409:
            raise
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.read_namespaced_service_account("default", namespace)
            return
        except client.ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def transcode_job(
    rip: str,
    *,
    run_duration: str = "1s",
    start_delay: str | None = None,
    fail: bool = False,
    node: str | None = None,
) -> dict[str, Any]:
    """A transcode Job labelled as the console and the pipeline label theirs (domain/kube_names)."""
    source = f"/srv/inbox/movies/{rip}.mkv"
    video = kn.stable_id("movies", source, 4_000_000_000, None)
    labels = {
        kn.PART_OF_LABEL: kn.PART_OF_VALUE,
        kn.JOB_TYPE_LABEL: kn.TRANSCODE,
        kn.VIDEO_LABEL: video,
        kn.LIBRARY_LABEL: "movies",
    }
    pod_annotations = {RUN_DURATION_ANNOTATION: run_duration}
    if fail:
        pod_annotations[OUTCOME_ANNOTATION] = "fail"
    if start_delay is not None:
        pod_annotations[START_DELAY_ANNOTATION] = start_delay
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": "handbrake",
                "image": "ponyconsole/transcode:bench",
                "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}},
            }
        ],
    }
    if node is not None:
        pod_spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": kn.job_name(rip, kn.TRANSCODE),
            "labels": labels,
            "annotations": {
                kn.SOURCE_ANNOTATION: source,
                kn.PRESET_ANNOTATION: "Fast 1080p30",
                kn.OUTPUT_ANNOTATION: f"/srv/library/movies/{rip}.mkv",
            },
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels, "annotations": pod_annotations},
                "spec": pod_spec,
            },
        },
    }


def create_jobs(cluster: PonyCluster, namespace: str, bodies: list[dict[str, Any]]) -> None:
    """Create Jobs, a few requests at a time (409: already there, kept)."""
    from kubernetes import client

    api = cluster.api_client()
    batch = client.BatchV1Api(api)

    def create(body: dict[str, Any]) -> None:
        for attempt in range(20):
            try:
                batch.create_namespaced_job(namespace, body)  # type: ignore[arg-type]
                return
            except client.ApiException as e:
                if e.status == 409:
                    return
                if e.status not in (429, 500, 503) or attempt == 19:
                    raise
                time.sleep(0.5)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, bodies))
    finally:
        api.close()


def _get(api: Any, path: str, timeout: float) -> bytes:
    """GET ``path`` of the API server (the admin authenticates with its client certificate)."""
    resp = api.call_api("GET", api.configuration.host + path, _request_timeout=timeout)
    data: bytes = resp.read()
    if resp.status != 200:
        raise SystemExit(f"GET {path}: {resp.status} {data[:300]!r}")
    return data


def raw_list(cluster: PonyCluster, path: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """GET a list as raw JSON (all pages); its items."""
    api = cluster.api_client()
    items: list[dict[str, Any]] = []
    cont = ""
    try:
        while True:
            sep = "&" if "?" in path else "?"
            url = f"{path}{sep}limit=500" + (f"&continue={cont}" if cont else "")
            data = json.loads(_get(api, url, timeout))
            items += data.get("items", [])
            cont = data.get("metadata", {}).get("continue", "")
            if not cont:
                return items
    finally:
        api.close()


def job_finished(job: dict[str, Any]) -> bool:
    conds = job.get("status", {}).get("conditions") or []
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conds)


def wait_jobs_finished(
    cluster: PonyCluster, namespace: str, count: int, timeout: float
) -> tuple[int, int]:
    """Wait until ``count`` Jobs of the namespace have finished; (succeeded, failed)."""
    deadline = time.monotonic() + timeout
    finished = 0
    while time.monotonic() < deadline:
        jobs = raw_list(cluster, f"/apis/batch/v1/namespaces/{namespace}/jobs")
        done = [j for j in jobs if job_finished(j)]
        finished = len(done)
        if finished >= count:
            failed = sum(
                1
                for j in done
                for c in j["status"].get("conditions") or []
                if c.get("type") == "Failed"
            )
            return finished - failed, failed
        time.sleep(2.0)
    raise SystemExit(f"only {finished} of {count} Jobs finished after {timeout:g} s")


def finished_jobs(count: int, fail_every: int = 10) -> list[dict[str, Any]]:
    """``count`` short transcode Jobs; every ``fail_every``-th one fails."""
    return [
        transcode_job(f"{NAME} {i:04d}", fail=(i % fail_every == 0)) for i in range(1, count + 1)
    ]


def start_live_transcodes(
    cluster: PonyCluster, namespace: str, nodes: list[str], log_dir: Path, timeout: float = 120.0
) -> list[Path]:
    """One long-running transcode Job per node in ``nodes``; serve each pod's log from a file.

    Returns the CRI log files (empty; append to them to make the logs grow). Each pod's log
    is served before the pod runs (the pods start 15 s after they are made), as a real
    container's log exists from its start.
    """
    bodies = [
        transcode_job(f"{LIVE_NAME} {i + 1}", run_duration="24h", start_delay="15s", node=node)
        for i, node in enumerate(nodes)
    ]
    create_jobs(cluster, namespace, bodies)
    names = {b["metadata"]["name"] for b in bodies}
    log_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    deadline = time.monotonic() + timeout
    running = 0
    while time.monotonic() < deadline:
        pods = raw_list(cluster, f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name")
        mine = [p for p in pods if p["metadata"]["labels"].get("job-name") in names]
        for p in mine:
            pod = p["metadata"]["name"]
            if pod not in files:
                files[pod] = log_dir / f"{pod}.log"
                files[pod].write_text("")
                cluster.serve_pod_logs(namespace, files[pod], pod=pod)
        running = sum(1 for p in mine if p.get("status", {}).get("phase") == "Running")
        if running == len(names):
            return [files[pod] for pod in sorted(files)]
        time.sleep(0.5)
    raise SystemExit(f"only {running} of {len(names)} live transcode pods Running")


def set_cordoned(cluster: PonyCluster, node: str, cordoned: bool) -> None:
    from kubernetes import client

    core = client.CoreV1Api(cluster._admin())
    core.patch_node(node, {"spec": {"unschedulable": cordoned}})


# ---------------------------------------------------------------- audit log

#: User agents of everything on the cluster that is not a client under test.
SYSTEM_AGENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "ponybench")
BENCH_AGENT = "ponybench/1"


def mark_bench_requests(cluster: PonyCluster) -> None:
    """The bench's own requests (cordons, /metrics) carry the user agent ``ponybench``."""
    cluster._admin().user_agent = BENCH_AGENT


def audit_offset(cluster: PonyCluster) -> int:
    try:
        return cluster.audit_log.stat().st_size
    except FileNotFoundError:
        return 0


def client_requests(
    cluster: PonyCluster, offset: int, since: float, until: float
) -> Counter[tuple[str, str, str]]:
    """Requests received between the wall-clock times ``since`` and ``until`` (the audit
    log read from ``offset``) from user agents not in SYSTEM_AGENTS, by
    (user agent's product, verb, resource).
    """
    import datetime as dt

    seen: dict[str, tuple[str, str, str]] = {}
    with cluster.audit_log.open("rb") as f:
        f.seek(offset)
        for raw in f:
            try:
                event = json.loads(raw)
            except ValueError:
                continue  # a line still being written
            agent = str(event.get("userAgent", ""))
            if agent.startswith(SYSTEM_AGENTS):
                continue
            stamp = event.get("requestReceivedTimestamp", "")
            try:
                when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
            if not since <= when < until:
                continue
            ref = event.get("objectRef") or {}
            resource = ref.get("resource", "") + (
                "/" + ref["subresource"] if ref.get("subresource") else ""
            )
            seen[event.get("auditID", raw)] = (
                agent.split("/")[0].split(" ")[0],
                str(event.get("verb", "")),
                resource or str(event.get("requestURI", "")).split("?")[0],
            )
    return Counter(seen.values())
