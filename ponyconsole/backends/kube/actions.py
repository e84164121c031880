"""The console's changes to the cluster: retry, cancel, cordon, drain.

Plain blocking functions of a kubernetes ``ApiClient``; the backend runs them
with ``asyncio.to_thread``. Each raises only :class:`BackendError` (or
:class:`NotAllowed`), whose message is the API server's own reason.
Reads are raw JSON (``_preload_content=False``): cheaper, and a Job is
recreated from exactly what the server holds, not from a typed round trip.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from kubernetes import client
from kubernetes.client import ApiClient, ApiException

from ponyconsole.backends.kube.convert import last_line
from ponyconsole.backends.kube.errors import api_message, to_backend_error
from ponyconsole.backends.protocol import BackendError, DrainResult
from ponyconsole.domain.kube_names import LAST_REASON_ANNOTATION, RETRIES_ANNOTATION

JSON = dict[str, Any]

#: How long a retry waits for the failed Job to disappear before creating it again.
DELETE_DEADLINE_S = 30.0
#: Per request: a hung API server must not hang an action forever.
REQUEST_TIMEOUT = (5, 30)
#: Evictions in flight at once during a drain.
EVICTIONS_AT_ONCE = 8

_SERVER_SET_METADATA = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "generation",
    "selfLink",
)
#: Labels the API server puts on a Job's pods (and selector) from the Job's uid and name.
_CONTROLLER_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
_JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")


@contextmanager
def _api_errors() -> Iterator[None]:
    """Every failure leaves as a BackendError carrying the API's reason."""
    try:
        yield
    except BackendError:
        raise
    except Exception as e:
        raise to_backend_error(e) from e


def _json(response: Any) -> JSON:
    data: JSON = json.loads(response.data)
    return data


# --------------------------------------------------------------------- jobs


def _condition(job: JSON, ctype: str) -> JSON | None:
    for cond in job.get("status", {}).get("conditions") or []:
        if cond.get("type") == ctype and cond.get("status") == "True":
            return dict(cond)
    return None


def _job_state(job: JSON) -> str:
    if _condition(job, "Failed"):
        return "failed"
    if _condition(job, "Complete"):
        return "complete"
    if job["metadata"].get("deletionTimestamp"):
        return "being deleted"
    if job.get("spec", {}).get("suspend"):
        return "suspended"
    status = job.get("status", {})
    if status.get("active"):
        return "running"
    return "pending"


def _pod_failure(pod: JSON) -> str | None:
    """The first failed container's own words: its termination message, else its reason."""
    status = pod.get("status", {})
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        term = (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get(
            "terminated"
        )
        if not term or term.get("exitCode", 0) == 0:
            continue
        words = last_line(term.get("message")) or term.get("reason") or "failed"
        return f"{cs.get('name', 'container')}: {words} (exit code {term['exitCode']})"
    if status.get("phase") == "Failed" and (status.get("message") or status.get("reason")):
        return str(status.get("message") or status.get("reason"))
    return None


def failure_reason(api: ApiClient, job: JSON) -> str:
    """Why ``job`` failed, as specific as the cluster knows it.

    A failed pod's termination message is where a transcode writes its one-line
    reason, so it comes first; the Job's Failed condition ("Job has reached the
    specified backoff limit") is the fallback.
    """
    meta = job["metadata"]
    uid = meta.get("uid", "")
    core = client.CoreV1Api(api)
    try:
        pods = _json(
            core.list_namespaced_pod(
                meta["namespace"],
                label_selector=f"batch.kubernetes.io/controller-uid={uid}",
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        ).get("items", [])
    except ApiException:
        pods = []  # the condition below still says something true
    pods.sort(key=lambda p: p["metadata"].get("creationTimestamp") or "", reverse=True)
    for pod in pods:
        reason = _pod_failure(pod)
        if reason:
            return reason
    cond = _condition(job, "Failed") or {}
    return str(cond.get("message") or cond.get("reason") or "failed")


def _strip_labels(labels: dict[str, str] | None, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in (labels or {}).items() if k not in keys}


def retry_spec(job: JSON, reason: str) -> JSON:
    """The Job to create again: same spec, without what the server set, one more retry."""
    new = copy.deepcopy(job)
    new.pop("status", None)
    meta = new["metadata"]
    for key in _SERVER_SET_METADATA:
        meta.pop(key, None)
    meta["labels"] = _strip_labels(meta.get("labels"), _CONTROLLER_LABELS)
    annotations = dict(meta.get("annotations") or {})
    try:
        retries = int(annotations.get(RETRIES_ANNOTATION, "0"))
    except ValueError:
        retries = 0
    annotations[RETRIES_ANNOTATION] = str(retries + 1)
    annotations[LAST_REASON_ANNOTATION] = reason
    meta["annotations"] = annotations
    spec = new["spec"]
    template_meta = spec["template"].setdefault("metadata", {})
    template_meta.pop("creationTimestamp", None)
    template_meta["labels"] = _strip_labels(
        template_meta.get("labels"), _CONTROLLER_LABELS + _JOB_NAME_LABELS
    )
    if not spec.get("manualSelector"):
        spec.pop("selector", None)
    return new


def _wait_gone(read: Callable[[], object], what: str, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            read()
        except ApiException as e:
            if e.status == 404:
                return
            raise
        if time.monotonic() > deadline:
            raise BackendError(f"{what} was deleted but is still there after {deadline_s:.0f} s")
        time.sleep(0.1)


def retry_job(api: ApiClient, namespace: str, job_name: str) -> JSON:
    """Delete the failed Job and create it again; returns the new Job's JSON.

    The delete is conditional on the uid read, so two retries at once (or a
    Job replaced meanwhile) cannot delete the wrong one; a dry-run create
    comes first, so a Job that could not be created again is not deleted.
    """
    batch = client.BatchV1Api(api)
    with _api_errors():
        job = _json(
            batch.read_namespaced_job(
                job_name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
        )
        state = _job_state(job)
        if state != "failed":
            raise BackendError(
                f"job {job_name} has not failed ({state}); only a failed job is retried"
            )
        reason = failure_reason(api, job)
        spec = retry_spec(job, reason)
        new_job = client.V1Job.from_dict(spec)
        if new_job is None:
            raise BackendError(f"job {job_name}: its spec could not be read back")
        # Nothing is deleted that could not be created again: the same Job under a
        # generated name goes through a dry-run create first (RBAC, quota, admission,
        # validation all answer, nothing is stored).
        probe = copy.deepcopy(spec)
        probe["metadata"].pop("name", None)
        probe["metadata"]["generateName"] = f"{job_name[:50]}-"
        batch.create_namespaced_job(
            namespace,
            client.V1Job.from_dict(probe),
            dry_run="All",
            _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT,
        )
        batch.delete_namespaced_job(
            job_name,
            namespace,
            body=client.V1DeleteOptions(
                propagation_policy="Background",
                preconditions=client.V1Preconditions(uid=job["metadata"]["uid"]),
            ),
            _request_timeout=REQUEST_TIMEOUT,
        )
        _wait_gone(
            lambda: batch.read_namespaced_job(
                job_name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            ),
            f"job {job_name}",
            DELETE_DEADLINE_S,
        )
    return _create_again(batch, namespace, job_name, new_job)


def _create_again(batch: client.BatchV1Api, namespace: str, name: str, job: client.V1Job) -> JSON:
    """Create the retried Job; the old one is gone, so a passing failure is tried again."""
    deadline = time.monotonic() + DELETE_DEADLINE_S
    while True:
        try:
            created = batch.create_namespaced_job(
                namespace, job, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
            return _json(created)
        except Exception as e:
            transient = not isinstance(e, ApiException) or e.status in (429, 500, 503, 504)
            if not transient or time.monotonic() > deadline:
                raise BackendError(
                    f"job {name} was deleted but could not be created again: {to_backend_error(e)}"
                ) from e
            time.sleep(0.5)


def cancel_job(api: ApiClient, namespace: str, job_name: str) -> None:
    """Delete the Job in the foreground: it goes only once its pods are gone."""
    with _api_errors():
        client.BatchV1Api(api).delete_namespaced_job(
            job_name,
            namespace,
            body=client.V1DeleteOptions(propagation_policy="Foreground"),
            _request_timeout=REQUEST_TIMEOUT,
        )


# --------------------------------------------------------------------- nodes


def set_unschedulable(api: ApiClient, node: str, value: bool) -> JSON:
    """Cordon (True) or uncordon (False) ``node``; returns the Node's JSON."""
    with _api_errors():
        return _json(
            client.CoreV1Api(api).patch_node(
                node,
                {"spec": {"unschedulable": value}},
                _content_type="application/strategic-merge-patch+json",
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        )


def _evictable(pod: JSON) -> bool:
    """kubectl drain's filters: not a DaemonSet's, not a mirror pod, not finished or going."""
    meta = pod["metadata"]
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return False
    for owner in meta.get("ownerReferences") or []:
        if owner.get("controller") and owner.get("kind") == "DaemonSet":
            return False
    if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return False
    return not meta.get("deletionTimestamp")


def drain_plan(api: ApiClient, node: str, namespace: str | None = None) -> list[str]:
    """The pods a drain of ``node`` would evict, as sorted "namespace/name"."""
    core = client.CoreV1Api(api)
    selector = f"spec.nodeName={node}"
    plan: list[str] = []
    cont: str | None = None
    with _api_errors():
        while True:
            kwargs: dict[str, Any] = {
                "field_selector": selector,
                "limit": 500,
                "_preload_content": False,
                "_request_timeout": REQUEST_TIMEOUT,
            }
            if cont:
                kwargs["_continue"] = cont
            if namespace is None:
                page = _json(core.list_pod_for_all_namespaces(**kwargs))
            else:
                page = _json(core.list_namespaced_pod(namespace, **kwargs))
            plan.extend(
                f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                for p in page.get("items", [])
                if _evictable(p)
            )
            cont = page.get("metadata", {}).get("continue")
            if not cont:
                break
    return sorted(plan)


def evict(api: ApiClient, pod: str) -> str | None:
    """Ask the Eviction API to evict "namespace/name"; None if accepted, else the API's reason."""
    namespace, name = pod.split("/", 1)
    body = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace),
    )
    try:
        client.CoreV1Api(api).create_namespaced_pod_eviction(
            name, namespace, body, _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as e:
        if e.status == 404:
            return None  # already gone: what a drain wants
        if e.status == 403:
            return f"not allowed: {api_message(e)}"
        return api_message(e)
    return None


def drain(api: ApiClient, node: str) -> DrainResult:
    """Cordon ``node``, then evict each pod of its plan once (PodDisruptionBudgets respected).

    A refused eviction is reported with the API's reason, not retried: the
    user drains again when the budget allows. Evictions go out a few at a
    time: the API server answers each in ~100 ms here (a delete takes ~6 ms).
    """
    set_unschedulable(api, node, True)
    plan = drain_plan(api, node, None)
    evicted: list[str] = []
    refused: list[tuple[str, str]] = []
    if not plan:
        return DrainResult(node=node)
    with _api_errors(), ThreadPoolExecutor(max_workers=min(EVICTIONS_AT_ONCE, len(plan))) as pool:
        reasons = list(pool.map(lambda pod: evict(api, pod), plan))
    for pod, reason in zip(plan, reasons, strict=True):
        if reason is None:
            evicted.append(pod)
        else:
            refused.append((pod, reason))
    return DrainResult(node=node, evicted=tuple(evicted), refused=tuple(refused))
