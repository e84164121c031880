"""The informers' slim decoding (backends/kube/wire.py) loses nothing the console reads.

The same bytes from the real API server, decoded whole (json.loads) and slim
(wire), must convert to equal Nodes and items, for a running, a failed, a
pending, a cancelled and an upload-waiting item; and the slim form must be
much smaller (it drops managedFields and every field no one reads).
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from kubernetes import client

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube import convert, wire
from ponyconsole.backends.kube.raw_api import NODES_PATH, RawList, jobs_path, pods_path
from ponyconsole.backends.kube.store import JOBS, NODES, PODS, Store
from ponyconsole.domain.kube_names import LAST_REASON_ANNOTATION, PART_OF_SELECTOR
from tests.kube_read_support import create_job, pony_job, wait_sync


def _list(api: client.ApiClient, path: str) -> bytes:
    response = RawList(api, path)(label_selector=None if path == NODES_PATH else PART_OF_SELECTOR)
    try:
        return bytes(response.data)
    finally:
        response.release_conn()


def _store(pages: dict[str, dict[str, Any]]) -> Store:
    store = Store()
    for kind in (NODES, JOBS, PODS):
        items = {o["metadata"]["name"]: o for o in pages[kind]["items"]}
        store.replace(kind, items, convert_now=False)
    store.rebuild()
    return store


@pytest.mark.cluster
@pytest.mark.timeout(150)
def test_slim_decoding_converts_like_the_whole_json(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    ns = kube_namespace
    notes = {LAST_REASON_ANNOTATION: "HandBrake: No title found."}
    create_job(kube_cluster, ns, pony_job("Run.mkv", "vid-run", run_duration="120s"))
    create_job(kube_cluster, ns, pony_job("Run.mkv", "vid-run", "upload", start_delay="120s"))
    create_job(kube_cluster, ns, pony_job("Fail.mkv", "vid-fail", fail=True, annotations=notes))
    create_job(kube_cluster, ns, pony_job("Stuck.mkv", "vid-stuck", node_selector={"x": "y"}))
    create_job(kube_cluster, ns, pony_job("Gone.mkv", "vid-gone", run_duration="120s"))
    api = kube_cluster._admin()
    # a Job being deleted in the foreground keeps a deletionTimestamp while its pod goes
    client.BatchV1Api(api).delete_namespaced_job(
        "gone-mkv-transcode", ns, propagation_policy="Foreground", grace_period_seconds=30
    )

    def states() -> dict[str, str]:
        pages = {NODES: wire.WHOLE.page(_list(api, NODES_PATH))}
        pages[JOBS] = wire.WHOLE.page(_list(api, jobs_path(ns)))
        pages[PODS] = wire.WHOLE.page(_list(api, pods_path(ns)))
        return {v: j.state.value for v, j in _store(pages).items.items()}

    wanted = {"vid-run": "running", "vid-fail": "failed", "vid-stuck": "pending"}
    wait_sync(lambda: wanted.items() <= states().items(), 60, "running, failed and pending items")

    raw = {NODES: _list(api, NODES_PATH), JOBS: _list(api, jobs_path(ns))}
    raw[PODS] = _list(api, pods_path(ns))
    whole = {kind: json.loads(data) for kind, data in raw.items()}
    slim = {
        NODES: wire.NODE.page(raw[NODES]),
        JOBS: wire.JOB.page(raw[JOBS]),
        PODS: wire.POD.page(raw[PODS]),
    }
    for kind in (NODES, JOBS, PODS):
        assert (
            slim[kind]["metadata"]["resourceVersion"] == whole[kind]["metadata"]["resourceVersion"]
        )
        assert len(slim[kind]["items"]) == len(whole[kind]["items"])
        assert all("managedFields" not in o["metadata"] for o in slim[kind]["items"])
        assert len(pickle.dumps(slim[kind])) < 0.6 * len(pickle.dumps(whole[kind]))
    a, b = _store(whole), _store(slim)
    assert len(a.nodes) == 6 and a.nodes == b.nodes
    assert {"vid-run", "vid-fail", "vid-stuck"} <= set(a.items) and a.items == b.items
    assert a.items["vid-fail"].reason and "exit code 1" in a.items["vid-fail"].reason
    assert a.items["vid-stuck"].reason and a.items["vid-stuck"].reason.startswith("0/6 nodes")
    if "vid-gone" in a.items:  # still being deleted when listed
        assert a.items["vid-gone"].state.value == "cancelled"
    for pod in slim[PODS]["items"]:
        name = pod["metadata"]["name"]
        match = next(p for p in whole[PODS]["items"] if p["metadata"]["name"] == name)
        assert convert.pod_requests(pod) == convert.pod_requests(match)
        assert convert.pod_job_name(pod) == convert.pod_job_name(match)
        assert convert.pending_message(pod) == convert.pending_message(match)


def test_watch_events_decode_by_type() -> None:
    pod = {
        "metadata": {
            "name": "p",
            "resourceVersion": "7",
            "deletionTimestamp": "2026-11-29T00:00:00Z",
            "managedFields": [{"manager": "x"}],
            "ownerReferences": [{"kind": "Job", "name": "j", "uid": "u"}],
        },
        "spec": {"nodeName": "rarity", "volumes": [{"name": "v"}]},
        "status": {
            "phase": "Failed",
            "containerStatuses": [
                {"name": "c", "state": {"terminated": {"exitCode": 3, "message": "boom"}}}
            ],
        },
    }
    event = wire.POD.event(json.dumps({"type": "MODIFIED", "object": pod}).encode())
    obj = event["object"]
    assert event["type"] == "MODIFIED"
    assert obj["metadata"]["deletionTimestamp"] == "2026-11-29T00:00:00Z"
    assert "managedFields" not in obj["metadata"] and "volumes" not in obj["spec"]
    assert obj["metadata"]["ownerReferences"] == [{"kind": "Job", "name": "j"}]
    assert convert.pod_job_name(obj) == "j" and obj["spec"]["nodeName"] == "rarity"
    assert obj["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    error = wire.POD.event(json.dumps({"type": "ERROR", "object": gone}).encode())
    assert error["object"]["code"] == 410 and error["object"]["message"] == "too old"
    mark = {
        "metadata": {"resourceVersion": "9", "annotations": {"k8s.io/initial-events-end": "true"}}
    }
    bookmark = wire.NODE.event(json.dumps({"type": "BOOKMARK", "object": mark}).encode())
    assert bookmark["object"]["metadata"]["resourceVersion"] == "9"
    # an odd value is kept as sent, not a failure of the whole stream
    odd = {"metadata": {"name": 5, "labels": {"a": 1}}, "spec": {"unschedulable": "yes"}}
    node = wire.NODE.event(json.dumps({"type": "ADDED", "object": odd}).encode())["object"]
    assert node["metadata"]["name"] == 5 and node["spec"]["unschedulable"] == "yes"


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_the_api_servers_own_bookmarks_decode_and_move_the_watch_on_without_a_relist(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    """A BOOKMARK is an empty object of its kind: a Pod's carries ``"containers": null``.
    The slim Pod schema refused it, and each bookmark (about one a minute) made the Pods
    informer list everything again. Here the API server sends its initial-events-end
    bookmark at once (a WatchList watch), for each kind the console watches."""
    from ponyconsole.backends.kube.informer import Informer, Kind
    from ponyconsole.backends.kube.raw_api import raw_get

    create_job(kube_cluster, kube_namespace, pony_job("Mark.mkv", "vid-mark", run_duration="60s"))
    api = kube_cluster._admin()
    for decoders, path in (
        (wire.POD, pods_path(kube_namespace)),
        (wire.NODE, NODES_PATH),
        (wire.JOB, jobs_path(kube_namespace)),
    ):
        query = [
            ("allowWatchBookmarks", "true"),
            ("resourceVersionMatch", "NotOlderThan"),
            ("sendInitialEvents", "true"),
            ("timeoutSeconds", "2"),
            ("watch", "true"),
        ]
        response = raw_get(api, path, query, (5, 30))
        seen: list[str] = []
        informer = Informer(
            Kind(path, RawList(api, path), decoders=decoders), None, lambda s, c: None
        )
        real_event = informer._event

        def event(obj: dict[str, Any], seen: list[str] = seen, real: Any = real_event) -> None:
            seen.append(str(obj.get("type")))
            real(obj)

        informer._event = event  # type: ignore[method-assign]
        informer._read(response)  # the real bytes, through the informer's own reading
        assert "BOOKMARK" in seen, (path, seen)
        version = informer.resource_version
        assert version and version.isdigit(), (path, version)  # moved on by the bookmark
        assert informer.lists == 0  # and nothing made it list again
