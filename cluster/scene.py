"""A scene on the real test cluster, for snapshot tests and screenshots of cluster mode.

Six ponies at work (one running transcode each, its progress read from a CRI log file
of real HandBrake output lines served by kwok), a failed item, a cordoned pony still
finishing its encode, a NotReady pony (its Ready condition patched False, which the
node-initialize stage leaves alone on a node annotated ``ponyconsole.test/node-down``)
and an item the scheduler cannot place (a node selector no pony matches).

What would vary from run to run is pinned, not faked: every time the console shows is
measured from one clock, :attr:`Scene.clock`, two hours after the Jobs started (all
within the same minute: ELAPSED reads 2h00m, node AGE 2h); the log files hold fixed
lines; the failed Job is made again until it took exactly FAILED_AFTER seconds of the
API's own timestamps (its run time corrected by what the last try took: a loaded
machine adds seconds of latency); the pending Job is made once the NotReady pony's taint is there,
so the scheduler's message does not change afterwards.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cluster.crilog import serve_pod_logs, write_cri_log
from cluster.errors import ClusterError
from cluster.jobs import pony_job
from cluster.kwokctl import NODE_DOWN_ANNOTATION
from cluster.ponycluster import PonyCluster
from ponyconsole.domain.kube_names import OUTPUT_ANNOTATION, VIDEO_LABEL

T = TypeVar("T")

NAMESPACE = "ponyconsole"
#: (pony, rip, task 2 percent, fps, avg fps, ETA) of the six running transcodes, made in
#: this order: by name, so that Jobs made within one second of the API's timestamps (the
#: list orders them by age, then by name) are listed the same way whatever the second.
WORK = (
    ("fluttershy", "Castle in the Sky (1986).mkv", 97.0, 41.0, 40.2, "00h00m35s"),
    ("rainbow-dash", "Kiki's Delivery Service (1989).mkv", 88.0, 62.3, 60.1, "00h02m05s"),
    ("pinkie-pie", "My Neighbor Totoro (1988).mkv", 47.25, 55.0, 53.4, "00h08m40s"),
    ("applejack", "Ponyo (2008).mkv", 63.0, 38.2, 35.5, "00h11m50s"),
    ("twilight-sparkle", "Spirited Away (2001).mkv", 12.5, 41.2, 39.8, "00h31m10s"),
    ("rarity", "The Wind Rises (2013).mkv", 5.0, 48.9, 47.7, "00h44m20s"),
)
CORDONED = "fluttershy"
NOT_READY = "applejack"
FAILED = ("rainbow-dash", "Porco Rosso (1992).mkv")
FAILED_AFTER = 3  # seconds from the failed Job's startTime to its Failed condition
PENDING = "Princess Mononoke (1997).mkv"
PENDING_SELECTOR = {"ponyconsole/pony": "unicorn"}  # no pony has it
CLOCK_AFTER = 2 * 3600 + 59  # the scene's clock: this long after the first Job started


@dataclass(frozen=True)
class Scene:
    namespace: str
    clock: float  # what the console's clock says (time.time() form)
    failed_tries: int  # how many failed Jobs it took to get one of FAILED_AFTER seconds


def _until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ClusterError(f"scene: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _stamp(text: str | None) -> float:
    if not text:
        raise ClusterError("scene: a timestamp is missing")
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _video(rip: str) -> str:
    return "vid-" + "".join(c for c in rip.lower() if c.isalnum())[:20]


def _output(rip: str) -> dict[str, str]:
    """Where the pipeline puts the rip's encode (the library's file, one .mkv)."""
    return {OUTPUT_ANNOTATION: f"/srv/library/movies/{Path(rip).stem}.mkv"}


def _log_lines(percent: float, fps: float, avg: float, eta: str) -> list[str]:
    """What HandBrakeCLI prints in a 2-pass encode: pass 1 done, pass 2 at ``percent``."""
    return [
        "Encoding: task 1 of 2, 99.87 % (140.50 fps, avg 138.20 fps, ETA 00h00m01s)",
        f"Encoding: task 2 of 2, {percent:.2f} % ({fps:.2f} fps, avg {avg:.2f} fps, ETA {eta})",
    ]


def build(cluster: PonyCluster, logs: Path, timeout: float = 120.0) -> Scene:
    """Make the scene on ``cluster`` (fresh: nothing of ours on it yet); log files in ``logs``."""
    from kubernetes import client

    api = cluster.api_client()
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    ns = NAMESPACE
    try:
        core.create_namespace({"metadata": {"name": ns}})
        _until(lambda: _sa(core, ns), 30, "the namespace's default ServiceAccount")

        # six running transcodes, one per pony; the pods wait 3 s so their logs are set first
        for pony, rip, *_ in WORK:
            body = pony_job(
                rip,
                _video(rip),
                start_delay="3s",
                run_duration="3600s",
                node_selector={"kubernetes.io/hostname": pony},
                annotations=_output(rip),
            )
            batch.create_namespaced_job(ns, body)
        pods = _until(lambda: _pods_by_node(core, ns, len(WORK)), 30, "the six pods placed")
        for pony, _rip, percent, fps, avg, eta in WORK:
            path = write_cri_log(
                logs / f"{pony}.log",
                _log_lines(percent, fps, avg, eta),
                when=dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC),
            )
            serve_pod_logs(api, ns, path, pod=pods[pony])
        _until(lambda: _running(core, ns) >= len(WORK), 60, "the six transcodes running")

        # the failed item, made again until its API timestamps say FAILED_AFTER seconds
        tries, run = 0, FAILED_AFTER - 1
        while True:
            tries += 1
            took = _fail_once(batch, ns, run)
            if took == FAILED_AFTER:
                break
            if tries >= 8:
                raise ClusterError(f"scene: the failed Job took {took} s, not {FAILED_AFTER}")
            run = min(10, max(0, run + FAILED_AFTER - took))
            _delete_job(batch, ns, FAILED[1])

        # a cordoned pony finishing its encode, a NotReady one
        core.patch_node(CORDONED, {"spec": {"unschedulable": True}})
        core.patch_node(NOT_READY, {"metadata": {"annotations": {NODE_DOWN_ANNOTATION: "1"}}})
        _mark_not_ready(core, NOT_READY)
        _until(lambda: _tainted(core, NOT_READY), 60, f"{NOT_READY}'s not-ready taint")

        # an item no pony can take: the scheduler's message is final once the taint is there
        batch.create_namespaced_job(
            ns,
            pony_job(
                PENDING,
                _video(PENDING),
                node_selector=PENDING_SELECTOR,
                annotations=_output(PENDING),
            ),
        )
        _until(lambda: _unschedulable_message(core, ns), 30, "the scheduler's message")

        starts = [
            _stamp(j["status"].get("startTime"))
            for j in _raw(batch.list_namespaced_job, ns)["items"]
        ]
        if max(starts) - min(starts) >= 60:
            raise ClusterError(f"scene: the Jobs started {max(starts) - min(starts):.0f} s apart")
        return Scene(ns, min(starts) + CLOCK_AFTER, tries)
    finally:
        api.close()


def undo(cluster: PonyCluster) -> None:
    """Take the scene's changes to the nodes back and delete its namespace."""
    from kubernetes import client

    api = cluster.api_client()
    core = client.CoreV1Api(api)
    try:
        core.patch_node(CORDONED, {"spec": {"unschedulable": None}})
        core.patch_node(NOT_READY, {"metadata": {"annotations": {NODE_DOWN_ANNOTATION: None}}})
        core.delete_namespace(NAMESPACE, propagation_policy="Background")
    finally:
        api.close()


def _raw(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    import json

    return json.loads(call(*args, _preload_content=False, **kwargs).data)


def _sa(core: Any, ns: str) -> bool:
    from kubernetes import client

    try:
        core.read_namespaced_service_account("default", ns)
        return True
    except client.ApiException:
        return False


def _pods_by_node(core: Any, ns: str, count: int) -> dict[str, str] | None:
    pods = _raw(core.list_namespaced_pod, ns)["items"]
    placed = {
        p["spec"]["nodeName"]: p["metadata"]["name"] for p in pods if p["spec"].get("nodeName")
    }
    return placed if len(placed) >= count else None


def _running(core: Any, ns: str) -> int:
    pods = _raw(core.list_namespaced_pod, ns)["items"]
    return sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running")


def _fail_once(batch: Any, ns: str, run: int) -> int:
    """Make the failed Job; return the seconds between its startTime and its Failed condition."""
    pony, rip = FAILED
    here = {"kubernetes.io/hostname": pony}
    body = pony_job(
        rip,
        _video(rip),
        fail=True,
        run_duration=f"{run}s",
        node_selector=here,
        annotations=_output(rip),
    )
    batch.create_namespaced_job(ns, body)

    def failed() -> int | None:
        job = _raw(batch.read_namespaced_job, body["metadata"]["name"], ns)
        status = job.get("status") or {}
        cond = next(
            (c for c in status.get("conditions") or [] if c["type"] == "Failed"),
            None,
        )
        if cond is None or cond["status"] != "True":
            return None
        return round(_stamp(cond["lastTransitionTime"]) - _stamp(status.get("startTime"))) or -1

    return _until(failed, 60, "the failed Job")


def _delete_job(batch: Any, ns: str, rip: str) -> None:
    from kubernetes import client

    name = pony_job(rip, _video(rip))["metadata"]["name"]
    batch.delete_namespaced_job(name, ns, propagation_policy="Foreground")

    def gone() -> bool:
        try:
            batch.read_namespaced_job(name, ns)
            return False
        except client.ApiException as e:
            return e.status == 404

    _until(gone, 60, "the failed Job deleted")


def _mark_not_ready(core: Any, node: str) -> None:
    obj = _raw(core.read_node, node)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = []
    for cond in obj["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond = {
                **cond,
                "status": "False",
                "reason": "KubeletNotReady",
                "message": "kubelet stopped posting node status",
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }
        conditions.append(cond)
    core.patch_node_status(node, {"status": {"conditions": conditions}})


def _tainted(core: Any, node: str) -> bool:
    taints = _raw(core.read_node, node)["spec"].get("taints") or []
    return any(t["key"] == "node.kubernetes.io/not-ready" for t in taints)


def _unschedulable_message(core: Any, ns: str) -> str | None:
    selector = f"{VIDEO_LABEL}={_video(PENDING)}"
    for pod in _raw(core.list_namespaced_pod, ns, label_selector=selector)["items"]:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond["type"] == "PodScheduled" and cond.get("reason") == "Unschedulable":
                return str(cond.get("message") or "")
    return None
