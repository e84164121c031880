"""Every manifest of k8s/ passes a server-side dry-run and applies cleanly to the real cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.templates import load_manifests, render_template
from ponyconsole.domain import kube_names as kn
from tests.kube_support import apply_docs, delete_cluster_bindings, read_job

pytestmark = pytest.mark.cluster


def job_values(namespace: str, kind: str) -> dict[str, object]:
    return {
        "JOB_NAME": f"dvd-rip-{kind}",
        "NAMESPACE": namespace,
        "VIDEO_ID": "0123456789ab",
        "LIBRARY": "movies",
        "SOURCE": "/share/claim/movies/DVD Rip (1999).iso",
        "PRESET": "H.264 MKV 1080p30",
        "TITLE": 2,
        "OUTPUT": "/share/work/movies/DVD Rip (1999).mkv",
        "TRANSCODE_JOB": "dvd-rip-transcode",
    }


@pytest.mark.timeout(60)
def test_namespace_manifest_dry_runs_then_applies(kube_cluster: PonyCluster, kube_namespace: str):
    api = kube_cluster.api_client()
    core = client.CoreV1Api(api)
    name = f"{kube_namespace}-own"
    docs = load_manifests("namespace.yaml", name)
    apply_docs(api, docs, dry_run=True)
    with pytest.raises(client.ApiException) as err:
        core.read_namespace(name)
    assert err.value.status == 404, "a dry-run created the namespace"
    try:
        apply_docs(api, docs)
        ns = core.read_namespace(name)
        assert ns.metadata.labels[kn.PART_OF_LABEL] == kn.PART_OF_VALUE
        apply_docs(api, docs)  # applying again changes nothing and does not fail
    finally:
        core.delete_namespace(name)


@pytest.mark.timeout(60)
def test_console_rbac_dry_runs_then_applies(kube_cluster: PonyCluster, kube_namespace: str):
    api = kube_cluster.api_client()
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    ns = kube_namespace
    docs = load_manifests("rbac-console.yaml", ns)
    assert {d["kind"] for d in docs} == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    }
    try:
        apply_docs(api, docs, dry_run=True)
        assert [sa.metadata.name for sa in core.list_namespaced_service_account(ns).items] == [
            "default"
        ]
        apply_docs(api, docs)
        accounts = {sa.metadata.name for sa in core.list_namespaced_service_account(ns).items}
        assert accounts == {"default", "ponyconsole-viewer", "ponyconsole-operator"}
        assert {r.metadata.name for r in rbac.list_namespaced_role(ns).items} == {
            "ponyconsole-viewer",
            "ponyconsole-operator",
        }
        binding = rbac.read_cluster_role_binding(f"ponyconsole-viewer:{ns}")
        assert binding.subjects[0].namespace == ns
        apply_docs(api, docs)
    finally:
        delete_cluster_bindings(api, docs)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", [kn.TRANSCODE, kn.UPLOAD])
def test_job_templates_dry_run_then_apply(
    kind: str, kube_cluster: PonyCluster, kube_namespace: str
):
    api = kube_cluster.api_client()
    ns = kube_namespace
    job = render_template(kind, job_values(ns, kind))
    apply_docs(api, [job], dry_run=True)
    assert read_job(api, ns, f"dvd-rip-{kind}") is None
    apply_docs(api, [job])
    stored = read_job(api, ns, f"dvd-rip-{kind}")
    assert stored is not None
    assert stored["metadata"]["labels"] == job["metadata"]["labels"]
    assert stored["metadata"]["annotations"] == job["metadata"]["annotations"]
    pod = stored["spec"]["template"]["spec"]
    assert (
        pod["containers"][0]["resources"]
        == job["spec"]["template"]["spec"]["containers"][0]["resources"]
    )
    assert stored["spec"]["backoffLimit"] == 0
    assert "ttlSecondsAfterFinished" not in stored["spec"]


@pytest.mark.timeout(90)
def test_kubectl_accepts_the_files_as_they_are(kube_cluster: PonyCluster, kube_namespace: str):
    """What a user types: kubectl apply -f k8s/... (server-side dry-run, so nothing is left)."""
    kubectl = [str(kube_cluster.bin / "kubectl"), "--kubeconfig", str(kube_cluster.kubeconfig)]
    top = Path(__file__).resolve().parent.parent / "k8s"
    res = subprocess.run(
        [*kubectl, "apply", "--dry-run=server", "-f", str(top / "namespace.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "namespace/ponyconsole created (server dry run)"
    # The rest lives in the namespace, which a dry-run did not make: feed kubectl the same
    # files moved to the test namespace.
    docs = load_manifests("rbac-console.yaml", kube_namespace)
    for kind in (kn.TRANSCODE, kn.UPLOAD):
        docs.append(render_template(kind, job_values(kube_namespace, kind)))
    res = subprocess.run(
        [*kubectl, "apply", "--dry-run=server", "-f", "-"],
        input=yaml.safe_dump_all(docs),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == len(docs)
    # ClusterRoles applied by an earlier test of the session read "unchanged".
    assert all(line.endswith(" (server dry run)") for line in lines), lines
    assert "job.batch/dvd-rip-upload created (server dry run)" in lines
