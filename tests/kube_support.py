"""Helpers shared by the tests/test_kube_*.py files (the real test cluster, raw JSON reads)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client, utils

from ponyconsole.backends.kube.templates import render_template
from ponyconsole.domain import kube_names as kn


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def transcode_job(namespace: str, name: str, **pod_annotations: str) -> dict[str, Any]:
    job = render_template(
        kn.TRANSCODE,
        {
            "JOB_NAME": name,
            "NAMESPACE": namespace,
            "VIDEO_ID": uuid.uuid4().hex[:12],
            "LIBRARY": "movies",
            "SOURCE": f"/share/claim/movies/{name}.mkv",
            "PRESET": "H.264 MKV 1080p30",
            "TITLE": 1,
            "OUTPUT": f"/share/work/movies/{name}.mkv",
        },
    )
    job["spec"]["template"]["metadata"]["annotations"] = dict(pod_annotations)
    return job


def create_job(api: client.ApiClient, job: dict[str, Any]) -> dict[str, Any]:
    resp = client.BatchV1Api(api).create_namespaced_job(
        job["metadata"]["namespace"], client.V1Job.from_dict(job), _preload_content=False
    )
    return json.loads(resp.data)


def read_job(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        resp = client.BatchV1Api(api).read_namespaced_job(name, namespace, _preload_content=False)
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise
    return json.loads(resp.data)


def job_pods(api: client.ApiClient, namespace: str, uid: str) -> list[dict[str, Any]]:
    resp = client.CoreV1Api(api).list_namespaced_pod(
        namespace,
        label_selector=f"batch.kubernetes.io/controller-uid={uid}",
        _preload_content=False,
    )
    return json.loads(resp.data)["items"]


def has_condition(job: dict[str, Any] | None, ctype: str) -> bool:
    return bool(job) and any(
        c["type"] == ctype and c["status"] == "True"
        for c in job.get("status", {}).get("conditions") or []
    )


def wait_failed(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    def failed():
        job = read_job(api, namespace, name)
        return job if has_condition(job, "Failed") else None

    return wait_for(failed, 45, f"job {name} to fail")


def running_pod(namespace: str, name: str, node: str, labels: dict[str, str] | None = None):
    """A pod placed on ``node`` that keeps running (restartPolicy Always)."""
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=labels or {}),
        spec=client.V1PodSpec(
            node_name=node,
            containers=[client.V1Container(name="work", image="ponyconsole:latest")],
        ),
    )


def pod_phase(core: client.CoreV1Api, namespace: str, name: str) -> str | None:
    try:
        pod = core.read_namespaced_pod(name, namespace)
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise
    return pod.status.phase


def apply_docs(
    api: client.ApiClient, docs: Iterable[dict[str, Any]], dry_run: bool = False
) -> None:
    """Server-side apply each document (as ``kubectl apply --server-side``); dryRun=All if asked."""
    kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
    for doc in docs:
        namespace = doc["metadata"].get("namespace")
        utils.create_from_dict(api, doc, namespace=namespace, apply=True, **kwargs)


def delete_cluster_bindings(api: client.ApiClient, docs: Iterable[dict[str, Any]]) -> None:
    """Remove the ClusterRoleBindings of ``docs`` (a namespace's deletion does not)."""
    rbac = client.RbacAuthorizationV1Api(api)
    for doc in docs:
        if doc["kind"] == "ClusterRoleBinding":
            try:
                rbac.delete_cluster_role_binding(doc["metadata"]["name"])
            except client.ApiException as e:
                if e.status != 404:
                    raise
