"""The console's actions against the real test cluster: retry, cancel, cordon, drain, errors.

Jobs come from the real templates of k8s/; kwok's pod stages (cluster/stages.yaml) make their
pods run and fail as the pod annotations ask.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client

from cluster.ponycluster import OUTCOME_ANNOTATION, RUN_DURATION_ANNOTATION, PonyCluster
from ponyconsole.backends.kube import actions
from ponyconsole.backends.kube.errors import to_backend_error
from ponyconsole.backends.protocol import BackendError, NotAllowed
from ponyconsole.domain import kube_names as kn
from tests.kube_support import (
    create_job,
    job_pods,
    pod_phase,
    read_job,
    running_pod,
    transcode_job,
    wait_failed,
    wait_for,
)

pytestmark = pytest.mark.cluster


# ---------------------------------------------------------------------------- retry


@pytest.mark.timeout(180)
def test_retry_recreates_a_failed_job_with_its_count_and_reason(
    kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    ns, name = kube_namespace, "broken-rip-transcode"
    first = create_job(api, transcode_job(ns, name, **{OUTCOME_ANNOTATION: "fail"}))
    wait_failed(api, ns, name)

    new = actions.retry_job(api, ns, name)

    assert new["metadata"]["name"] == name
    assert new["metadata"]["uid"] != first["metadata"]["uid"]
    ann = new["metadata"]["annotations"]
    assert ann[kn.RETRIES_ANNOTATION] == "1"
    # The failed pod's own words (kwok's termination message), not the Job's generic condition.
    assert ann[kn.LAST_REASON_ANNOTATION] == (
        "transcode: ponyconsole.test/outcome is fail (exit code 1)"
    )
    assert ann[kn.SOURCE_ANNOTATION] == first["metadata"]["annotations"][kn.SOURCE_ANNOTATION]
    # Same spec: the server re-added its selector and labels for the new uid.
    old_pod, new_pod = first["spec"]["template"], new["spec"]["template"]
    assert new_pod["spec"]["containers"] == old_pod["spec"]["containers"]
    assert new_pod["metadata"]["annotations"] == {OUTCOME_ANNOTATION: "fail"}
    assert (
        new_pod["metadata"]["labels"]["batch.kubernetes.io/controller-uid"]
        == (new["metadata"]["uid"])
    )
    assert (
        new["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"]
        == (new["metadata"]["uid"])
    )
    assert new["metadata"]["labels"][kn.VIDEO_LABEL] == first["metadata"]["labels"][kn.VIDEO_LABEL]
    assert "status" not in new or not new["status"].get("failed")

    # It runs again: a new pod of the new Job, which fails again; a second retry counts 2.
    wait_for(lambda: job_pods(api, ns, new["metadata"]["uid"]), 30, "a pod of the new Job")
    wait_failed(api, ns, name)
    again = actions.retry_job(api, ns, name)
    assert again["metadata"]["annotations"][kn.RETRIES_ANNOTATION] == "2"
    (job,) = client.BatchV1Api(api).list_namespaced_job(ns).items
    assert job.metadata.uid == again["metadata"]["uid"]


@pytest.mark.timeout(120)
def test_retry_of_a_running_job_is_refused_and_changes_nothing(
    kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    ns, name = kube_namespace, "busy-transcode"
    created = create_job(api, transcode_job(ns, name, **{RUN_DURATION_ANNOTATION: "120s"}))

    def running():
        job = read_job(api, ns, name)
        return job if job and job.get("status", {}).get("active") else None

    wait_for(running, 30, "the Job to run")
    with pytest.raises(BackendError, match=r"has not failed \(running\)") as err:
        actions.retry_job(api, ns, name)
    assert not isinstance(err.value, NotAllowed)
    job = read_job(api, ns, name)
    assert job is not None
    assert job["metadata"]["uid"] == created["metadata"]["uid"]
    assert job["metadata"]["annotations"][kn.RETRIES_ANNOTATION] == "0"

    with pytest.raises(BackendError, match=r'^no such object: jobs.batch "ghost" not found'):
        actions.retry_job(api, ns, "ghost")


# ---------------------------------------------------------------------------- cancel


@pytest.mark.timeout(120)
def test_cancel_deletes_the_job_and_its_pods_in_the_foreground(
    kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    ns, name = kube_namespace, "unwanted-transcode"
    created = create_job(api, transcode_job(ns, name, **{RUN_DURATION_ANNOTATION: "120s"}))
    uid = created["metadata"]["uid"]

    def pod_running():
        return [p for p in job_pods(api, ns, uid) if p["status"].get("phase") == "Running"]

    wait_for(pod_running, 30, "the Job's pod to run")

    actions.cancel_job(api, ns, name)

    # Foreground: while its pods go, the Job is still there, held by foregroundDeletion.
    job = read_job(api, ns, name)
    if job is not None:
        assert job["metadata"]["deletionTimestamp"]
        assert "foregroundDeletion" in job["metadata"]["finalizers"]
    wait_for(lambda: read_job(api, ns, name) is None, 30, "the Job to be gone")
    assert job_pods(api, ns, uid) == []

    with pytest.raises(BackendError, match=r"^no such object: "):
        actions.cancel_job(api, ns, name)


# ---------------------------------------------------------------------------- cordon


@pytest.mark.timeout(60)
def test_cordon_and_uncordon_set_and_clear_unschedulable(kube_cluster: PonyCluster):
    api = kube_cluster.api_client()
    core = client.CoreV1Api(api)
    try:
        node = actions.set_unschedulable(api, "rarity", True)
        assert node["metadata"]["name"] == "rarity"
        assert node["spec"]["unschedulable"] is True
        assert core.read_node("rarity").spec.unschedulable is True
        node = actions.set_unschedulable(api, "rarity", False)
        assert not node["spec"].get("unschedulable")
        assert not core.read_node("rarity").spec.unschedulable
    finally:
        core.patch_node("rarity", {"spec": {"unschedulable": False}})
    with pytest.raises(BackendError, match=r'^no such object: nodes "spike" not found'):
        actions.set_unschedulable(api, "spike", True)


# ---------------------------------------------------------------------------- drain


@pytest.mark.timeout(150)
def test_drain_evicts_what_the_plan_lists_and_skips_daemonsets_and_finished_pods(
    kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    ns, node = kube_namespace, "applejack"
    for name in ("enc-a", "enc-b"):
        core.create_namespaced_pod(ns, running_pod(ns, name, node))
    done = running_pod(ns, "finished", node)
    done.spec.restart_policy = "Never"
    core.create_namespaced_pod(ns, done)
    apps.create_namespaced_daemon_set(
        ns,
        client.V1DaemonSet(
            metadata=client.V1ObjectMeta(name="agent"),
            spec=client.V1DaemonSetSpec(
                selector=client.V1LabelSelector(match_labels={"app": "agent"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "agent"}),
                    spec=client.V1PodSpec(
                        node_selector={"kubernetes.io/hostname": node},
                        containers=[client.V1Container(name="a", image="ponyconsole:latest")],
                    ),
                ),
            ),
        ),
    )

    def settled():
        phases = {p.metadata.name: p.status.phase for p in core.list_namespaced_pod(ns).items}
        agent = [n for n in phases if n.startswith("agent-")]
        ok = (
            phases.get("enc-a") == "Running"
            and phases.get("enc-b") == "Running"
            and phases.get("finished") == "Succeeded"
            and len(agent) == 1
            and phases[agent[0]] == "Running"
        )
        return ok or phases

    wait_for(lambda: settled() is True, 45, "the pods to run and finish")
    assert actions.drain_plan(api, node, ns) == [f"{ns}/enc-a", f"{ns}/enc-b"]
    assert f"{ns}/enc-a" in actions.drain_plan(api, node, None)
    assert actions.drain_plan(api, "rarity", ns) == []

    try:
        result = actions.drain(api, node)
        assert result.node == node
        mine = {p for p in result.evicted if p.startswith(f"{ns}/")}
        assert mine == {f"{ns}/enc-a", f"{ns}/enc-b"}
        assert not [p for p, _ in result.refused if p.startswith(f"{ns}/")]
        assert core.read_node(node).spec.unschedulable is True
        for name in ("enc-a", "enc-b"):
            wait_for(lambda n=name: pod_phase(core, ns, n) is None, 30, f"{name} to be gone")
        assert pod_phase(core, ns, "finished") == "Succeeded"
        agent = [
            p for p in core.list_namespaced_pod(ns).items if p.metadata.name.startswith("agent-")
        ]
        assert len(agent) == 1 and agent[0].metadata.deletion_timestamp is None
        assert actions.drain_plan(api, node, ns) == []
    finally:
        core.patch_node(node, {"spec": {"unschedulable": False}})


@pytest.mark.timeout(150)
def test_drain_reports_an_eviction_refused_by_a_pod_disruption_budget(
    kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    ns, node = kube_namespace, "fluttershy"
    labels = {"app": "precious"}
    for name in ("keep-a", "keep-b"):
        core.create_namespaced_pod(ns, running_pod(ns, name, node, labels))
    policy.create_namespaced_pod_disruption_budget(
        ns,
        client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="keep-both"),
            spec=client.V1PodDisruptionBudgetSpec(
                min_available=2, selector=client.V1LabelSelector(match_labels=labels)
            ),
        ),
    )

    def budget_known():
        pdb = policy.read_namespaced_pod_disruption_budget("keep-both", ns)
        st = pdb.status
        return bool(
            st
            and st.observed_generation == pdb.metadata.generation
            and st.current_healthy == 2
            and st.expected_pods == 2
        ) or (st and st.to_dict())

    wait_for(lambda: budget_known() is True, 45, "the disruption controller to count the pods")
    try:
        result = actions.drain(api, node)
        refused = {p: reason for p, reason in result.refused if p.startswith(f"{ns}/")}
        assert set(refused) == {f"{ns}/keep-a", f"{ns}/keep-b"}
        for reason in refused.values():
            assert reason == "Cannot evict pod as it would violate the pod's disruption budget."
        assert not [p for p in result.evicted if p.startswith(f"{ns}/")]
        for name in ("keep-a", "keep-b"):
            assert pod_phase(core, ns, name) == "Running"
        assert core.read_node(node).spec.unschedulable is True
    finally:
        core.patch_node(node, {"spec": {"unschedulable": False}})


# ---------------------------------------------------------------------------- errors


@pytest.mark.timeout(60)
def test_api_errors_read_as_the_api_server_says_them(
    kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    batch = client.BatchV1Api(api)
    ns = kube_namespace
    create_job(api, transcode_job(ns, "twice-transcode", **{RUN_DURATION_ANNOTATION: "60s"}))

    def error_of(call: Callable[[], object]) -> BackendError:
        try:
            call()
        except Exception as e:
            return to_backend_error(e)
        raise AssertionError("the call succeeded")

    job = client.V1Job.from_dict(transcode_job(ns, "twice-transcode"))
    conflict = error_of(lambda: batch.create_namespaced_job(ns, job))
    assert str(conflict) == 'jobs.batch "twice-transcode" already exists'
    bad = transcode_job(ns, "Not_A_DNS_Name")
    invalid = error_of(lambda: batch.create_namespaced_job(ns, client.V1Job.from_dict(bad)))
    assert str(invalid).startswith('Job.batch "Not_A_DNS_Name" is invalid: ')
    missing = error_of(lambda: batch.read_namespaced_job("nope", ns))
    assert str(missing) == 'no such object: jobs.batch "nope" not found'
    viewer = kube_cluster.impersonating_client(f"system:serviceaccount:{ns}:nobody")
    denied = error_of(lambda: client.BatchV1Api(viewer).delete_namespaced_job("x", ns))
    assert isinstance(denied, NotAllowed)
    assert str(denied) == (
        f'not allowed: jobs.batch "x" is forbidden: User "system:serviceaccount:{ns}:nobody" '
        f'cannot delete resource "jobs" in API group "batch" in the namespace "{ns}"'
    )
    for e in (conflict, invalid, missing, denied):
        assert "Traceback" not in str(e) and "HTTP response" not in str(e)


@pytest.mark.timeout(60)
def test_a_lost_api_server_reads_as_disconnected(kube_cluster: PonyCluster):
    conf = kube_cluster.configuration()
    conf.host = "https://127.0.0.1:9"  # discard port: nothing listens there
    conf.retries = 0
    api = client.ApiClient(conf)
    with pytest.raises(BackendError) as err:
        actions.set_unschedulable(api, "rarity", True)
    message = str(err.value)
    assert message.startswith("disconnected from the API server: "), message
    assert "Connection refused" in message, message
    assert "\n" not in message
