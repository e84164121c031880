"""Raw API JSON -> domain objects, on JSON captured from the real test cluster."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes import client

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube import convert
from ponyconsole.domain.kube_names import LAST_REASON_ANNOTATION, RETRIES_ANNOTATION
from ponyconsole.domain.models import JobState, Progress, ProgressState, StageKind
from tests.kube_read_support import create_job, pony_job, raw, wait_sync


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4", Decimal(4)),
        ("500m", Decimal("0.5")),
        ("16Gi", Decimal(16 * 2**30)),
        ("1e3", Decimal(1000)),
        ("1.5M", Decimal(1_500_000)),
        ("128974848", Decimal(128974848)),
        ("100Ki", Decimal(102400)),
        ("2E", Decimal(2 * 10**18)),
    ],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert convert.parse_quantity(text) == value


def test_cpu_and_memory_round_up_like_the_scheduler() -> None:
    assert convert.cpu_milli("250m") == 250
    assert convert.cpu_milli("0.0001") == 1
    assert convert.memory_bytes("1.5Ki") == 1536
    assert convert.cpu_milli("lots") is None and convert.memory_bytes(None) is None


@given(st.text(max_size=20))
def test_any_quantity_text_never_raises(text: str) -> None:
    convert.parse_quantity(text)


def test_timestamps() -> None:
    assert convert.timestamp("1970-01-01T00:01:40Z") == 100.0
    assert convert.timestamp("garbage") is None and convert.timestamp(None) is None


# -- captured from the cluster -------------------------------------------------------


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_nodes_as_the_api_sends_them(kube_cluster: PonyCluster) -> None:
    core = client.CoreV1Api(kube_cluster._admin())
    items = {o["metadata"]["name"]: o for o in raw(core.list_node)["items"]}
    master = convert.node_from_json(items["twilight-sparkle"])
    assert master.is_master and master.roles == ("control-plane",)
    assert master.ready and not master.cordoned and master.pressures == ()
    assert master.allocatable_cpu_milli == 4000 and master.allocatable_memory == 16 * 2**30
    assert master.internal_ip == "127.0.0.11" and master.mac == "02:00:00:00:00:11"
    assert master.kubelet_version and master.created_at
    pony = copy.deepcopy(items["rarity"])
    pony["spec"]["unschedulable"] = True
    for cond in pony["status"]["conditions"]:
        if cond["type"] in ("Ready", "DiskPressure"):
            cond["status"] = "False" if cond["type"] == "Ready" else "True"
    rarity = convert.node_from_json(pony)
    assert rarity.cordoned and not rarity.ready and rarity.pressures == ("DiskPressure",)
    assert not rarity.is_master and rarity.roles == ()


def _job_and_pods(cluster: PonyCluster, namespace: str, name: str) -> tuple[dict, list[dict]]:
    api = cluster._admin()
    job = raw(client.BatchV1Api(api).read_namespaced_job, name, namespace)
    pods = raw(
        client.CoreV1Api(api).list_namespaced_pod,
        namespace,
        label_selector=f"batch.kubernetes.io/job-name={name}",
    )["items"]
    return job, pods


@pytest.mark.cluster
@pytest.mark.timeout(120)
def test_items_from_jobs_and_pods_as_the_api_sends_them(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    ns = kube_namespace
    create_job(kube_cluster, ns, pony_job("Run.mkv", "vid-run", run_duration="60s"))
    create_job(kube_cluster, ns, pony_job("Run.mkv", "vid-run", "upload", start_delay="60s"))
    notes = {RETRIES_ANNOTATION: "2", LAST_REASON_ANNOTATION: "HandBrake: No title found."}
    create_job(kube_cluster, ns, pony_job("Fail.mkv", "vid-fail", fail=True, annotations=notes))
    create_job(kube_cluster, ns, pony_job("Stuck.mkv", "vid-stuck", node_selector={"x": "y"}))

    def phase(name: str, want: str) -> bool:
        _, pods = _job_and_pods(kube_cluster, ns, name)
        return bool(pods) and pods[0]["status"]["phase"] == want

    wait_sync(lambda: phase("run-mkv-transcode", "Running"), 30, "the transcode running")
    job, pods = _job_and_pods(kube_cluster, ns, "run-mkv-transcode")
    upload, upload_pods = _job_and_pods(kube_cluster, ns, "run-mkv-upload")
    progress = Progress(ProgressState.WORKING, 1, 1, 33.0, 33.0)
    item = convert.item_from_json(
        [upload, job],
        {"run-mkv-transcode": pods, "run-mkv-upload": upload_pods},
        progress,
        stalled=True,
    )
    assert item is not None
    assert item.id == "vid-run" and item.state is JobState.RUNNING and item.stalled
    assert item.progress == progress and item.node == pods[0]["spec"]["nodeName"]
    assert [s.kind for s in item.stages] == [StageKind.TRANSCODE, StageKind.UPLOAD]
    assert item.stages[1].state in (JobState.QUEUED, JobState.RUNNING)
    assert item.stage == "transcode" and item.kube_name == "run-mkv-transcode"

    def failed() -> bool:
        job, _ = _job_and_pods(kube_cluster, ns, "fail-mkv-transcode")
        return any(
            c["type"] == "Failed" and c["status"] == "True"
            for c in job.get("status", {}).get("conditions", [])
        )

    wait_sync(failed, 40, "the Job failed")
    job, pods = _job_and_pods(kube_cluster, ns, "fail-mkv-transcode")
    item = convert.item_from_json([job], {"fail-mkv-transcode": pods})
    assert item is not None and item.state is JobState.FAILED
    assert item.retries == 2
    assert item.reason and "exit code 1" in item.reason  # its own failure, the freshest
    assert item.finished_at and item.progress is None
    again = copy.deepcopy(job)  # as retry makes it: a new Job that remembers the last reason
    again["status"] = {}
    item = convert.item_from_json([again], {})
    assert item is not None and item.state is JobState.QUEUED
    assert item.reason == "HandBrake: No title found." and item.retries == 2
    del job["metadata"]["annotations"][LAST_REASON_ANNOTATION]
    item = convert.item_from_json([job], {})  # pods already gone: the Job's condition
    assert item is not None and item.reason and "backoff limit" in item.reason

    def unscheduled() -> bool:
        _, pods = _job_and_pods(kube_cluster, ns, "stuck-mkv-transcode")
        return bool(pods) and convert.pending_message(pods[0]) is not None

    wait_sync(unscheduled, 30, "the scheduler's verdict")
    job, pods = _job_and_pods(kube_cluster, ns, "stuck-mkv-transcode")
    item = convert.item_from_json([job], {"stuck-mkv-transcode": pods})
    assert item is not None and item.state is JobState.PENDING
    assert item.reason and item.reason.startswith("0/6 nodes are available")
    assert convert.item_from_json([], {}) is None
