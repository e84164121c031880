"""k8s/ of the pipeline on the real API server: dry-run, apply, and each account's rights.

The watcher's and the job pods' ServiceAccounts are impersonated: each does what it
needs (the watcher creates a rip's Jobs through jobchain itself) and is denied the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cluster.ponycluster import PonyCluster
from ponyconsole.backends.kube.templates import in_namespace, load_manifests, manifests_dir
from ponyconsole.domain import kube_names as kn
from ponyconsole.pipeline.jobchain import Rip, Target, ensure_chain
from ponyconsole.pipeline.share import Share
from tests.kube_support import apply_docs, read_job, wait_for
from tests.test_kube_access import as_account

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parent.parent


def plex_secret(namespace: str) -> dict:
    (doc,) = yaml.safe_load_all((manifests_dir() / "plex-secret.yaml.template").read_text())
    return in_namespace(doc, namespace)


def test_pipeline_manifests_dry_run_then_apply(kube_cluster: PonyCluster, kube_namespace: str):
    api = kube_cluster.api_client()
    ns = kube_namespace
    docs = [
        *load_manifests("rbac-pipeline.yaml", ns),
        *load_manifests("watcher-deployment.yaml", ns),
        plex_secret(ns),
    ]
    assert {d["kind"] for d in docs} == {
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "Deployment",
        "Secret",
    }, "namespaced only: nothing cluster-wide"
    apply_docs(api, docs, dry_run=True)
    apps = client.AppsV1Api(api)
    with pytest.raises(client.ApiException) as gone:
        apps.read_namespaced_deployment("ponyconsole-watcher", ns)
    assert gone.value.status == 404, "a dry run stores nothing"
    apply_docs(api, docs)
    deployment = apps.read_namespaced_deployment("ponyconsole-watcher", ns)
    pod = deployment.spec.template.spec
    assert pod.service_account_name == "ponyconsole-watcher"
    assert pod.containers[0].args[:3] == ["watch", "--share", "/share"]
    assert deployment.spec.strategy.type == "Recreate" and deployment.spec.replicas == 1
    secret = client.CoreV1Api(api).read_namespaced_secret("ponyconsole-plex", ns)
    assert set(secret.data or {}) <= {"PLEX_URL", "PLEX_TOKEN"}
    assert all(not v for v in (secret.data or {}).values()), "a shape, no value"
    # the controllers take it: a watcher pod is made (kwok runs it on a pony)
    core = client.CoreV1Api(api)
    wait_for(
        lambda: (
            core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/component=watcher").items
        ),
        30,
        "the watcher's pod",
    )
    assert "plex-secret.yaml.template" not in {p.name for p in (ROOT / "k8s").glob("*.yaml")}


def test_the_watcher_account_manages_jobs_and_nothing_else(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path: Path
):
    admin = kube_cluster.api_client()
    ns = kube_namespace
    apply_docs(admin, load_manifests("rbac-pipeline.yaml", ns))
    watcher = as_account(kube_cluster, ns, "ponyconsole-watcher")
    job_pods = as_account(kube_cluster, ns, "ponyconsole-job")
    batch = client.BatchV1Api(watcher)
    wait_for(lambda: _can(lambda: batch.list_namespaced_job(ns)), 15, "the binding to count")

    # what it needs: the whole jobchain, as itself
    chain = ensure_chain(watcher, Rip("movies", "Rbac.mkv", 7), Target(ns, Share(tmp_path)))
    assert set(chain.created) == {"rbac-mkv-transcode", "rbac-mkv-upload"}
    assert ensure_chain(watcher, Rip("movies", "Rbac.mkv", 7), Target(ns, Share(tmp_path))).existed
    batch.read_namespaced_job(chain.transcode, ns)
    # the job pods' account reads Jobs (wait-job) and changes none
    client.BatchV1Api(job_pods).read_namespaced_job(chain.transcode, ns)
    client.BatchV1Api(job_pods).list_namespaced_job(ns)
    denied = {
        "job pods delete jobs": lambda: client.BatchV1Api(job_pods).delete_namespaced_job(
            chain.upload, ns
        ),
        "job pods create jobs": lambda: client.BatchV1Api(job_pods).create_namespaced_job(
            ns, read_job(admin, ns, chain.transcode)
        ),
        "job pods read secrets": lambda: client.CoreV1Api(job_pods).list_namespaced_secret(ns),
        "watcher reads secrets": lambda: client.CoreV1Api(watcher).list_namespaced_secret(ns),
        "watcher deletes pods": lambda: client.CoreV1Api(watcher).delete_collection_namespaced_pod(
            ns
        ),
        "watcher creates pods": lambda: client.CoreV1Api(watcher).create_namespaced_pod(
            ns, {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "x", "image": "x"}]}}
        ),
        "watcher patches nodes": lambda: client.CoreV1Api(watcher).patch_node(
            "rarity", {"spec": {"unschedulable": True}}
        ),
        "watcher lists jobs elsewhere": lambda: batch.list_namespaced_job("default"),
        "watcher patches jobs": lambda: batch.patch_namespaced_job(
            chain.transcode, ns, {"metadata": {"labels": {"x": "y"}}}
        ),
    }
    for what, call in denied.items():
        with pytest.raises(client.ApiException) as err:
            call()
        assert err.value.status == 403, what
    # and what it may do last: delete (a retry)
    batch.delete_namespaced_job(chain.upload, ns, propagation_policy="Background")
    assert read_job(admin, ns, chain.transcode)["metadata"]["labels"][kn.VIDEO_LABEL] == chain.video


def _can(call) -> bool:
    try:
        call()
    except client.ApiException:
        return False
    return True
