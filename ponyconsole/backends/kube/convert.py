"""Raw Kubernetes JSON (dicts as the API sends them) -> the console's domain objects.

Pure functions, no client, no clock: the informers hand in what the API
server sent (read as raw JSON, never as the client's typed models: 3x
faster, see DESIGN.md), these turn it into ``Node`` and ``Job``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ponyconsole.domain.kube_names import (
    JOB_TYPE_LABEL,
    LAST_REASON_ANNOTATION,
    LIBRARY_LABEL,
    MAC_ANNOTATION,
    OUTPUT_ANNOTATION,
    PRESET_ANNOTATION,
    RETRIES_ANNOTATION,
    SOURCE_ANNOTATION,
    TITLE_ANNOTATION,
    UPLOAD,
    VIDEO_LABEL,
)
from ponyconsole.domain.models import Job, JobState, Node, Progress, Stage, StageKind

Obj = Mapping[str, Any]

ROLE_PREFIX = "node-role.kubernetes.io/"
CONTROL_PLANE_ROLES = ("control-plane", "master")
PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure")
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")

_SUFFIXES = {
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}


def parse_quantity(text: object) -> Decimal | None:
    """A Kubernetes quantity ("4", "500m", "16Gi", "1e3", "1.5M") as a number; None if bad."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Decimal(str(text))
    if not isinstance(text, str) or not text.strip():
        return None
    s = text.strip()
    factor = Decimal(1)
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        if s.endswith(suffix):
            factor, s = _SUFFIXES[suffix], s[:-2]
            break
    else:
        # "1e3" ends in a digit (an exponent); "1E" ends in a letter (exa)
        if s[-1] in _SUFFIXES:
            factor, s = _SUFFIXES[s[-1]], s[:-1]
    try:
        value = Decimal(s) * factor
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def cpu_milli(text: object) -> int | None:
    value = parse_quantity(text)
    return (
        None if value is None else int((value * 1000).to_integral_value(rounding="ROUND_CEILING"))
    )


def memory_bytes(text: object) -> int | None:
    value = parse_quantity(text)
    return None if value is None else int(value.to_integral_value(rounding="ROUND_CEILING"))


def timestamp(text: object) -> float | None:
    """RFC 3339 ("2026-11-28T21:14:02Z") -> epoch seconds."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _labels(obj: Obj) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}


def _annotations(obj: Obj) -> Mapping[str, str]:
    return _meta(obj).get("annotations") or {}


def _conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or []}


def _true(conds: Mapping[str, Mapping[str, Any]], ctype: str) -> bool:
    return conds.get(ctype, {}).get("status") == "True"


# -- nodes -----------------------------------------------------------------------


def pod_is_active(pod: Obj) -> bool:
    """A pod that still holds its requests on its node (not Succeeded, not Failed)."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def pod_requests(pod: Obj) -> tuple[int, int]:
    """(cpu milli, memory bytes) the pod's containers request."""
    cpu = mem = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += cpu_milli(requests.get("cpu")) or 0
        mem += memory_bytes(requests.get("memory")) or 0
    return cpu, mem


def node_from_json(obj: Obj, pods_there: Iterable[Obj] = ()) -> Node:
    """A Node; ``pods_there``: the pods we know of on it (the ponyconsole pods only).

    The requested CPU and memory are the sum over those pods that are not
    terminated. The console watches only its own pods (a cluster-wide pod
    watch would cost far more), so other workloads' requests are not counted.
    """
    meta = _meta(obj)
    labels = _labels(obj)
    status = obj.get("status") or {}
    conds = _conditions(obj)
    roles = tuple(sorted(k[len(ROLE_PREFIX) :] for k in labels if k.startswith(ROLE_PREFIX)))
    address = next(
        (a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"),
        None,
    )
    allocatable = status.get("allocatable") or {}
    cpu = mem = 0
    for pod in pods_there:
        if pod_is_active(pod):
            c, m = pod_requests(pod)
            cpu += c
            mem += m
    return Node(
        name=meta.get("name", ""),
        ready=_true(conds, "Ready"),
        cordoned=bool((obj.get("spec") or {}).get("unschedulable")),
        pressures=tuple(p for p in PRESSURES if _true(conds, p)),
        internal_ip=address,
        kubelet_version=(status.get("nodeInfo") or {}).get("kubeletVersion") or None,
        created_at=timestamp(meta.get("creationTimestamp")),
        is_master=any(r in CONTROL_PLANE_ROLES for r in roles),
        has_agent=False,
        roles=roles,
        allocatable_cpu_milli=cpu_milli(allocatable.get("cpu")),
        allocatable_memory=memory_bytes(allocatable.get("memory")),
        requested_cpu_milli=cpu,
        requested_memory=mem,
        mac=_annotations(obj).get(MAC_ANNOTATION) or None,
    )


# -- jobs ------------------------------------------------------------------------


def pod_job_name(pod: Obj) -> str | None:
    """The Job a pod belongs to (its job-name label, else its owner reference)."""
    labels = _labels(pod)
    for key in JOB_NAME_LABELS:
        if labels.get(key):
            return labels[key]
    for owner in _meta(pod).get("ownerReferences") or []:
        if owner.get("kind") == "Job":
            return str(owner.get("name"))
    return None


def video_of(job: Obj) -> str:
    """The item a Job belongs to: its video label, else (a stray Job) its own name."""
    return _labels(job).get(VIDEO_LABEL) or f"job/{_meta(job).get('name', '')}"


def pending_message(pod: Obj) -> str | None:
    """The scheduler's own words when it cannot place the pod (PodScheduled=False)."""
    if (pod.get("status") or {}).get("phase") != "Pending":
        return None
    cond = _conditions(pod).get("PodScheduled")
    if cond is None or cond.get("status") != "False":
        return None
    return str(cond.get("message") or cond.get("reason") or "not scheduled yet")


def _pod_failure(pod: Obj) -> str | None:
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated") or {}
        if term and term.get("exitCode", 0) != 0:
            text = last_line(term.get("message")) or term.get("reason") or "Error"
            return f"{cs.get('name', 'container')}: {text} (exit code {term.get('exitCode')})"
    if status.get("phase") == "Failed":
        return str(status.get("message") or status.get("reason") or "pod failed")
    return None


def last_line(message: object) -> str:
    """A termination message's last non-empty line.

    With ``FallbackToLogsOnError`` the kubelet takes up to 80 lines of the container's
    log; our commands print their one-line reason last (earlier lines are progress or
    notes, such as a retry taking its rip back from fail/).
    """
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _latest(pods: Iterable[Obj]) -> list[Obj]:
    """Pods newest first (a retried Job's last pod is the one that tells)."""
    return sorted(pods, key=lambda p: _meta(p).get("creationTimestamp") or "", reverse=True)


def stage_from_json(job: Obj, pods: Iterable[Obj]) -> Stage:
    """One Job (with its pods) as one stage of an item."""
    meta = _meta(job)
    status = job.get("status") or {}
    conds = _conditions(job)
    pods = _latest(pods)
    kind = StageKind.UPLOAD if _labels(job).get(JOB_TYPE_LABEL) == UPLOAD else StageKind.TRANSCODE
    running = next((p for p in pods if (p.get("status") or {}).get("phase") == "Running"), None)
    node = (running or (pods[0] if pods else {})).get("spec", {}).get("nodeName")
    reason: str | None = None
    finished_at: float | None = None
    if meta.get("deletionTimestamp"):
        state, reason = JobState.CANCELLED, "cancelled"
    elif _true(conds, "Complete") or _true(conds, "SuccessCriteriaMet"):
        state = JobState.SUCCEEDED
        # SuccessCriteriaMet comes a moment before Complete and completionTime
        cond = conds.get("Complete") or conds.get("SuccessCriteriaMet") or {}
        finished_at = timestamp(status.get("completionTime") or cond.get("lastTransitionTime"))
    elif _true(conds, "Failed"):
        # not FailureTarget: the Job's pods are still ending then, and a retry waits for Failed
        state = JobState.FAILED
        cond = conds.get("Failed") or {}
        pod_reason = next((r for r in map(_pod_failure, pods) if r), None)
        reason = pod_reason or str(cond.get("message") or cond.get("reason") or "failed")
        finished_at = timestamp(cond.get("lastTransitionTime"))
    elif running is not None:
        state = JobState.RUNNING
    else:
        waiting = next((m for m in map(pending_message, pods) if m), None)
        if waiting is not None:
            state, reason = JobState.PENDING, waiting
        else:
            state = JobState.QUEUED
    return Stage(
        kind=kind,
        state=state,
        kube_name=meta.get("name"),
        node=node,
        reason=reason,
        started_at=timestamp(status.get("startTime")),
        finished_at=finished_at,
    )


_ORDER = {StageKind.TRANSCODE: 0, StageKind.UPLOAD: 1}


def current_stage(stages: list[Stage]) -> Stage:
    """The stage that speaks for the item: failed, else running, else pending, else waiting."""
    for states in (
        (JobState.FAILED, JobState.CANCELLED),
        (JobState.RUNNING,),
        (JobState.PENDING,),
        (JobState.QUEUED, JobState.INTERRUPTED),
    ):
        for stage in stages:
            if stage.state in states:
                return stage
    return stages[-1]


def _int(text: object) -> int | None:
    try:
        return int(str(text))
    except (TypeError, ValueError):
        return None


def item_from_json(
    jobs: Iterable[Obj],
    pods_of: Mapping[str, Iterable[Obj]],
    progress: Progress | None = None,
    stalled: bool = False,
) -> Job | None:
    """One item (one rip) from its Jobs (all with the same video label) and their pods.

    ``pods_of`` maps a Job's name to its pods; ``progress`` is what the
    transcode's log said last (the log follower holds it). None if no Jobs.
    """
    pairs = [
        (job, stage_from_json(job, pods_of.get(_meta(job).get("name", ""), ()))) for job in jobs
    ]
    if not pairs:
        return None
    pairs.sort(key=lambda p: (_ORDER[p[1].kind], _meta(p[0]).get("creationTimestamp") or ""))
    stages = [stage for _, stage in pairs]
    job_of = {id(stage): job for job, stage in pairs}
    current = current_stage(stages)
    head = pairs[0][0]  # the transcode Job carries the item's description
    labels, notes = _labels(head), _annotations(head)
    retries = max((_int(_annotations(j).get(RETRIES_ANNOTATION)) or 0) for j, _ in pairs)
    reason = current.reason
    if reason is None or current.state not in (JobState.PENDING, JobState.FAILED):
        remembered = _annotations(job_of[id(current)]).get(LAST_REASON_ANNOTATION)
        if current.state is not JobState.CANCELLED:
            reason = remembered or reason
    transcode = next((s for s in stages if s.kind is StageKind.TRANSCODE), stages[0])
    node = current.node or transcode.node
    state = current.state
    finished = state.finished and all(s.state.finished for s in stages)
    created = [timestamp(_meta(j).get("creationTimestamp")) for j, _ in pairs]
    return Job(
        id=video_of(head),
        source=notes.get(SOURCE_ANNOTATION)
        or labels.get(VIDEO_LABEL)
        or _meta(head).get("name", ""),
        library=labels.get(LIBRARY_LABEL) or "",
        preset=notes.get(PRESET_ANNOTATION) or "",
        state=state,
        title=_int(notes.get(TITLE_ANNOTATION)),
        output=notes.get(OUTPUT_ANNOTATION) or None,
        node=node,
        progress=progress if transcode.state is not JobState.QUEUED else None,
        created_at=min((c for c in created if c is not None), default=0.0),
        started_at=transcode.started_at,
        finished_at=max((s.finished_at or 0.0) for s in stages) or None if finished else None,
        retries=retries,
        reason=reason,
        stage=current.kind.value,
        stages=tuple(stages),
        namespace=_meta(head).get("namespace"),
        kube_name=current.kube_name,
        stalled=stalled and transcode.state is JobState.RUNNING,
    )
