"""The console's ServiceAccounts of k8s/rbac-console.yaml, impersonated on the real cluster.

The viewer is refused every action up front (learn_permissions) and by the API (NotAllowed);
the operator can do each action it needs and nothing else.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from cluster.ponycluster import OUTCOME_ANNOTATION, RUN_DURATION_ANNOTATION, PonyCluster
from ponyconsole.backends.kube import actions
from ponyconsole.backends.kube.access import READ_ONLY_REASON, learn_permissions
from ponyconsole.backends.kube.templates import load_manifests
from ponyconsole.backends.protocol import Action, NotAllowed
from tests.kube_support import (
    apply_docs,
    create_job,
    delete_cluster_bindings,
    pod_phase,
    read_job,
    running_pod,
    transcode_job,
    wait_failed,
    wait_for,
)

pytestmark = pytest.mark.cluster

CLUSTER_ACTIONS = frozenset({Action.RETRY, Action.CANCEL, Action.CORDON, Action.DRAIN})


def as_account(cluster: PonyCluster, namespace: str, account: str) -> client.ApiClient:
    user = f"system:serviceaccount:{namespace}:{account}"
    groups = [
        "system:serviceaccounts",
        f"system:serviceaccounts:{namespace}",
        "system:authenticated",
    ]
    return cluster.impersonating_client(user, groups=groups)


@pytest.fixture
def console_accounts(kube_cluster: PonyCluster, kube_namespace: str):
    """rbac-console.yaml applied in the test namespace; (viewer, operator) clients."""
    admin = kube_cluster.api_client()
    docs = load_manifests("rbac-console.yaml", kube_namespace)
    apply_docs(admin, docs)
    viewer = as_account(kube_cluster, kube_namespace, "ponyconsole-viewer")
    operator = as_account(kube_cluster, kube_namespace, "ponyconsole-operator")
    # RBAC is served from the API server's informers: wait until the bindings count.
    wait_for(
        lambda: learn_permissions(operator, kube_namespace, False).allowed == CLUSTER_ACTIONS,
        15,
        "the operator's bindings to take effect",
    )
    try:
        yield viewer, operator
    finally:
        delete_cluster_bindings(admin, docs)


def test_read_only_allows_nothing_and_asks_nothing(kube_cluster: PonyCluster):
    conf = kube_cluster.configuration()
    conf.host = "https://127.0.0.1:9"  # a request would fail: read-only mode makes none
    perms = learn_permissions(client.ApiClient(conf), "ponyconsole", read_only=True)
    assert perms.allowed == frozenset()
    assert perms.reason == READ_ONLY_REASON
    assert perms.refusal(Action.RETRY) == "read-only mode (--read-only): nothing is changed"


@pytest.mark.timeout(120)
def test_viewer_sees_everything_and_may_change_nothing(
    kube_cluster: PonyCluster, kube_namespace: str, console_accounts
):
    viewer, _ = console_accounts
    ns = kube_namespace
    admin = kube_cluster.api_client()
    create_job(admin, transcode_job(ns, "seen-transcode", **{RUN_DURATION_ANNOTATION: "60s"}))

    perms = learn_permissions(viewer, ns, read_only=False)
    assert perms.allowed == frozenset()
    assert perms.reason == (
        "not allowed by RBAC: create jobs, delete jobs, patch nodes, list pods (all namespaces), "
        f"create pods/eviction (all namespaces) (as system:serviceaccount:{ns}:ponyconsole-viewer)"
    )
    assert perms.refusal(Action.CANCEL) == perms.reason
    assert perms.refusal(Action.ENQUEUE) == perms.reason

    # What the console reads, the viewer may read.
    assert len(client.CoreV1Api(viewer).list_node().items) == 6
    jobs = client.BatchV1Api(viewer).list_namespaced_job(ns).items
    assert [j.metadata.name for j in jobs] == ["seen-transcode"]
    client.CoreV1Api(viewer).list_namespaced_pod(ns)
    client.CoreV1Api(viewer).list_namespaced_event(ns)

    # A request forced past the dimmed keys gets the API's 403, said as "not allowed: ...".
    with pytest.raises(NotAllowed) as err:
        actions.cancel_job(viewer, ns, "seen-transcode")
    assert str(err.value).startswith('not allowed: jobs.batch "seen-transcode" is forbidden: ')
    assert f"system:serviceaccount:{ns}:ponyconsole-viewer" in str(err.value)
    with pytest.raises(NotAllowed, match=r'^not allowed: nodes "rarity" is forbidden'):
        actions.set_unschedulable(viewer, "rarity", True)
    assert read_job(admin, ns, "seen-transcode") is not None
    assert not client.CoreV1Api(admin).read_node("rarity").spec.unschedulable


@pytest.mark.timeout(180)
def test_operator_can_do_each_action_and_nothing_else(
    kube_cluster: PonyCluster, kube_namespace: str, console_accounts
):
    _, operator = console_accounts
    ns = kube_namespace
    admin = kube_cluster.api_client()
    core = client.CoreV1Api(admin)

    perms = learn_permissions(operator, ns, read_only=False)
    assert perms.allowed == CLUSTER_ACTIONS
    assert perms.reason == ""
    # Enqueue (the pipeline) and wake (the agents) are not cluster actions yet.
    assert perms.refusal(Action.ENQUEUE) and perms.refusal(Action.WAKE)

    # retry
    create_job(admin, transcode_job(ns, "again-transcode", **{OUTCOME_ANNOTATION: "fail"}))
    wait_failed(admin, ns, "again-transcode")
    new = actions.retry_job(operator, ns, "again-transcode")
    assert new["metadata"]["annotations"]["ponyconsole/retries"] == "1"
    # cancel
    actions.cancel_job(operator, ns, "again-transcode")
    wait_for(lambda: read_job(admin, ns, "again-transcode") is None, 30, "the Job to go")
    # cordon, drain
    node = "pinkie-pie"
    core.create_namespaced_pod(ns, running_pod(ns, "movable", node))
    wait_for(lambda: pod_phase(core, ns, "movable") == "Running", 30, "the pod to run")
    try:
        assert actions.set_unschedulable(operator, node, True)["spec"]["unschedulable"] is True
        assert f"{ns}/movable" in actions.drain_plan(operator, node, None)
        result = actions.drain(operator, node)
        assert f"{ns}/movable" in result.evicted
        assert not [r for r in result.refused if r[0].startswith(f"{ns}/")]
        wait_for(lambda: pod_phase(core, ns, "movable") is None, 30, "the evicted pod to go")
        assert not actions.set_unschedulable(operator, node, False)["spec"].get("unschedulable")
    finally:
        core.patch_node(node, {"spec": {"unschedulable": False}})

    # Anything else is denied by the real API.
    def status_of(call) -> int:
        try:
            call()
        except client.ApiException as e:
            return int(e.status)
        return 200

    as_op = client.CoreV1Api(operator)
    assert status_of(lambda: as_op.delete_node("rarity")) == 403
    assert status_of(lambda: as_op.list_namespaced_secret(ns)) == 403
    assert status_of(lambda: as_op.read_namespaced_secret("anything", ns)) == 403
    assert status_of(lambda: as_op.create_namespaced_pod(ns, running_pod(ns, "x", node))) == 403
    assert status_of(lambda: as_op.delete_namespaced_pod("movable", ns)) == 403
    batch = client.BatchV1Api(operator)
    assert status_of(lambda: batch.list_namespaced_job("default")) == 403
    assert status_of(lambda: batch.delete_namespaced_job("x", "default")) == 403
    assert core.read_node("rarity").metadata.name == "rarity"


@pytest.mark.timeout(120)
def test_a_retry_that_could_not_create_the_job_again_deletes_nothing(
    kube_cluster: PonyCluster, kube_namespace: str
):
    """An account that may delete Jobs but not create them: the failed Job stays."""
    admin = kube_cluster.api_client()
    ns = kube_namespace
    core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
    core.create_namespaced_service_account(
        ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="half"))
    )
    rbac.create_namespaced_role(
        ns,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="half"),
            rules=[
                client.V1PolicyRule(
                    api_groups=["batch"], resources=["jobs"], verbs=["get", "delete"]
                ),
                client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["list"]),
            ],
        ),
    )
    rbac.create_namespaced_role_binding(
        ns,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="half"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="half"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="half", namespace=ns)],
        ),
    )
    half = as_account(kube_cluster, ns, "half")
    created = create_job(admin, transcode_job(ns, "kept-transcode", **{OUTCOME_ANNOTATION: "fail"}))
    wait_failed(admin, ns, "kept-transcode")
    perms = wait_for(
        lambda: (p := learn_permissions(half, ns, False)).allowed == {Action.CANCEL} and p,
        15,
        "the binding to take effect",
    )
    assert Action.RETRY not in perms.allowed
    assert perms.reason.startswith("not allowed by RBAC: create jobs, patch nodes")

    with pytest.raises(NotAllowed, match=r"^not allowed: jobs.batch is forbidden: ") as err:
        actions.retry_job(half, ns, "kept-transcode")
    assert 'cannot create resource "jobs"' in str(err.value)
    job = read_job(admin, ns, "kept-transcode")
    assert job is not None and job["metadata"]["uid"] == created["metadata"]["uid"]
    assert len(client.BatchV1Api(admin).list_namespaced_job(ns).items) == 1
