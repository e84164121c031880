"""The real Kubernetes test cluster works as cluster mode needs it (issue 4).

Runs against tests/fixtures/cluster.py: a real kube-apiserver, controller-manager, scheduler and
etcd of Kubernetes v1.35.4, with kwok playing the kubelets of six ponies.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, watch

from cluster.ponycluster import (
    MAC_ANNOTATION,
    OUTCOME_ANNOTATION,
    PONIES,
    PonyCluster,
    append_cri_log,
    write_cri_log,
)

pytestmark = pytest.mark.cluster


def _job(name: str, annotations: dict[str, str] | None = None, backoff_limit: int = 0):
    return client.V1Job(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1JobSpec(
            backoff_limit=backoff_limit,
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(annotations=annotations or {}),
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[
                        client.V1Container(
                            name="handbrake",
                            image="ponyconsole/handbrake:test",
                            args=["-i", "/media/in.mkv", "-o", "/media/out.mkv"],
                        )
                    ],
                ),
            ),
        ),
    )


def _wait(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def _condition(job: client.V1Job, ctype: str) -> bool:
    return any(c.type == ctype and c.status == "True" for c in (job.status.conditions or []))


@pytest.mark.timeout(120)
def test_ponies_are_ready_with_their_addresses_and_capacity(kube_cluster: PonyCluster):
    core = client.CoreV1Api(kube_cluster.api_client())
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert sorted(nodes) == sorted(p[0] for p in PONIES)
    assert kube_cluster.nodes == [p[0] for p in PONIES]
    for name, ip, mac in PONIES:
        node = nodes[name]
        addresses = {a.type: a.address for a in node.status.addresses}
        assert addresses["InternalIP"] == ip
        assert node.metadata.annotations["kwok.x-k8s.io/node"] == "fake"
        assert node.metadata.annotations[MAC_ANNOTATION] == mac
        assert node.status.capacity["cpu"] == "4"
        assert node.status.capacity["memory"] == "16Gi"
        assert node.status.capacity["pods"] == "110"
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True"
        is_master = "node-role.kubernetes.io/control-plane" in (node.metadata.labels or {})
        assert is_master == (name == "twilight-sparkle")
    version = client.VersionApi(kube_cluster.api_client()).get_code()
    assert version.git_version == "v1.35.4"


@pytest.mark.timeout(120)
def test_job_completes_on_a_pony(kube_cluster: PonyCluster, kube_namespace: str):
    api = kube_cluster.api_client()
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    phases: list[str] = []

    def watch_pod():
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_pod, kube_namespace, timeout_seconds=40):
            phase = ev["object"].status.phase
            if not phases or phases[-1] != phase:
                phases.append(phase)
            if phase in ("Succeeded", "Failed"):
                w.stop()

    t = threading.Thread(target=watch_pod, daemon=True)
    t.start()
    batch.create_namespaced_job(kube_namespace, _job("encode-ok"))

    def complete():
        job = batch.read_namespaced_job("encode-ok", kube_namespace)
        return job if _condition(job, "Complete") else None

    job = _wait(complete, 45, "the Job to complete")
    assert job.status.succeeded == 1
    assert not job.status.failed
    pods = core.list_namespaced_pod(kube_namespace, label_selector="job-name=encode-ok").items
    assert len(pods) == 1
    assert pods[0].spec.node_name in kube_cluster.nodes
    assert pods[0].status.phase == "Succeeded"
    term = pods[0].status.container_statuses[0].state.terminated
    assert term.exit_code == 0
    t.join(timeout=10)
    assert phases == ["Pending", "Running", "Succeeded"]


@pytest.mark.timeout(120)
def test_failing_pod_makes_job_retry_then_fail(kube_cluster: PonyCluster, kube_namespace: str):
    api = kube_cluster.api_client()
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(
        kube_namespace, _job("encode-bad", {OUTCOME_ANNOTATION: "fail"}, backoff_limit=1)
    )

    def failed():
        job = batch.read_namespaced_job("encode-bad", kube_namespace)
        return job if _condition(job, "Failed") else None

    # backoffLimit 1: two pods fail, with the Job controller's 10 s back-off between them.
    job = _wait(failed, 75, "the Job to fail")
    assert job.status.failed == 2
    assert not job.status.succeeded
    reasons = [c.reason for c in job.status.conditions if c.type == "Failed"]
    assert reasons == ["BackoffLimitExceeded"]
    pods = core.list_namespaced_pod(kube_namespace, label_selector="job-name=encode-bad").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.spec.node_name in kube_cluster.nodes
        assert pod.status.phase == "Failed"
        assert pod.status.container_statuses[0].state.terminated.exit_code == 1


@pytest.mark.timeout(120)
def test_pod_logs_read_and_followed_through_the_api(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
):
    api = kube_cluster.api_client()
    core = client.CoreV1Api(api)
    lines = [
        "Encoding: task 1 of 1, 12.50 %",
        "Encoding: task 1 of 1, 50.00 % (87.20 fps, avg 85.10 fps, ETA 00h01m02s)",
        "Encoding: task 1 of 1, 99.90 %",
    ]
    log_file = write_cri_log(tmp_path / "handbrake.log", lines)
    assert log_file.read_text().splitlines()[0].endswith(" stdout F " + lines[0])
    # A daemon-like pod (restartPolicy Always) stays Running, so its log can be followed.
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="encoder"),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="handbrake", image="ponyconsole/handbrake:t")]
        ),
    )
    core.create_namespaced_pod(kube_namespace, pod)
    kube_cluster.serve_pod_logs(kube_namespace, log_file, pod="encoder")

    def running():
        p = core.read_namespaced_pod("encoder", kube_namespace)
        return p.status.phase == "Running"

    _wait(running, 30, "the pod to run")

    def logs_match():
        try:
            text = core.read_namespaced_pod_log("encoder", kube_namespace, container="handbrake")
        except client.ApiException as e:
            return f"{e.status} {e.body}"
        return text.splitlines() == lines or text

    assert _wait(logs_match, 20, "the pod log") is True

    # Follow: a line appended after the stream opened shows up in it.
    seen: list[str] = []
    resp = core.read_namespaced_pod_log(
        "encoder",
        kube_namespace,
        container="handbrake",
        follow=True,
        _preload_content=False,
        _request_timeout=(5, 30),
    )
    new_line = "Encode done! " + uuid.uuid4().hex

    def reader():
        buf = b""
        for chunk in resp.stream(1024):
            buf += chunk
            *complete, buf = buf.split(b"\n")
            seen.extend(c.decode() for c in complete)
            if new_line in seen:
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    _wait(lambda: len(seen) >= len(lines), 15, "the followed log's first lines")
    assert seen[: len(lines)] == lines
    append_cri_log(log_file, [new_line])
    t.join(timeout=20)
    resp.release_conn()
    assert new_line in seen, seen


@pytest.mark.timeout(120)
def test_serviceaccount_without_rights_gets_403(kube_cluster: PonyCluster, kube_namespace: str):
    api = kube_cluster.api_client()
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    sa = "console"
    core.create_namespaced_service_account(
        kube_namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=sa))
    )
    user = f"system:serviceaccount:{kube_namespace}:{sa}"

    # By impersonation.
    as_sa = client.CoreV1Api(kube_cluster.impersonating_client(user))
    with pytest.raises(client.ApiException) as err:
        as_sa.list_namespaced_pod(kube_namespace)
    assert err.value.status == 403

    # By a real token from the TokenRequest API, signed by the cluster.
    tr = core.create_namespaced_service_account_token(
        sa,
        kube_namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
        ),
    )
    with_token = client.CoreV1Api(kube_cluster.token_client(tr.status.token))
    with pytest.raises(client.ApiException) as err:
        with_token.list_namespaced_pod(kube_namespace)
    assert err.value.status == 403
    assert user in err.value.body

    # Least privilege: a Role to list pods in this namespace, and nothing more.
    rbac.create_namespaced_role(
        kube_namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="pod-reader"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["list"])],
        ),
    )
    rbac.create_namespaced_role_binding(
        kube_namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="pod-reader"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="pod-reader"
            ),
            subjects=[
                client.RbacV1Subject(kind="ServiceAccount", name=sa, namespace=kube_namespace)
            ],
        ),
    )
    _wait(
        lambda: _can(lambda: with_token.list_namespaced_pod(kube_namespace)),
        10,
        "the RoleBinding to apply",
    )
    with pytest.raises(client.ApiException) as err:
        with_token.list_namespaced_pod("default")
    assert err.value.status == 403
    with pytest.raises(client.ApiException) as err:
        client.BatchV1Api(kube_cluster.token_client(tr.status.token)).list_namespaced_job(
            kube_namespace
        )
    assert err.value.status == 403


def _can(call) -> bool:
    try:
        call()
    except client.ApiException as e:
        if e.status == 403:
            return False
        raise
    return True


@pytest.mark.timeout(120)
def test_watch_breaks_on_apiserver_restart_and_a_new_one_sees_changes(
    kube_cluster: PonyCluster,
):
    api = kube_cluster.api_client()
    core = client.CoreV1Api(api)
    rv = core.list_node().metadata.resource_version
    outcome: dict[str, object] = {}
    events: list[str] = []

    def first_watch():
        w = watch.Watch()
        try:
            for ev in w.stream(
                core.list_node, resource_version=rv, timeout_seconds=60, _request_timeout=70
            ):
                events.append(ev["type"])
            outcome["ended"] = "stream ended"
        except Exception as e:
            outcome["ended"] = f"{type(e).__name__}: {e}"
        outcome["at"] = time.monotonic()

    t = threading.Thread(target=first_watch, daemon=True)
    t.start()
    time.sleep(1.0)
    assert t.is_alive()
    stopped_at = time.monotonic()
    kube_cluster.stop_apiserver()
    t.join(timeout=15)
    assert not t.is_alive(), "the watch did not notice the API server going away"
    print("first watch ended by:", outcome["ended"])
    assert outcome["at"] - stopped_at < 15
    with pytest.raises(Exception):  # noqa: B017 - any connection error will do
        core.list_node(_request_timeout=2)

    kube_cluster.start_apiserver()
    rv2 = core.list_node().metadata.resource_version
    marker = uuid.uuid4().hex[:12]
    seen = threading.Event()

    def second_watch():
        w = watch.Watch()
        for ev in w.stream(
            core.list_node, resource_version=rv2, timeout_seconds=30, _request_timeout=40
        ):
            labels = ev["object"].metadata.labels or {}
            if ev["type"] == "MODIFIED" and labels.get("ponyconsole.test/marker") == marker:
                seen.set()
                w.stop()

    t2 = threading.Thread(target=second_watch, daemon=True)
    t2.start()
    time.sleep(0.5)
    core.patch_node("rarity", {"metadata": {"labels": {"ponyconsole.test/marker": marker}}})
    assert seen.wait(20), "the new watch did not see the change"
    core.patch_node("rarity", {"metadata": {"labels": {"ponyconsole.test/marker": None}}})
    t2.join(timeout=5)
