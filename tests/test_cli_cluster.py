"""The scripting commands on the real cluster, through the same protocol as the console."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client

from cluster.ponycluster import PonyCluster
from tests.kube_read_support import create_job, pony_job, wait_sync

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[1]


def cli(cluster: PonyCluster, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "ponyconsole.cli", *args]
    argv += ["--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace]
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, cwd=ROOT)


def test_jobs_retry_cancel_and_cordon_act_on_the_cluster(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    ns = kube_namespace
    batch = client.BatchV1Api(kube_cluster.api_client())
    core = client.CoreV1Api(kube_cluster.api_client())
    create_job(kube_cluster, ns, pony_job("Broken.mkv", "vidbroken", fail=True))
    create_job(kube_cluster, ns, pony_job("Long.mkv", "vidlong", run_duration="600s"))

    def listed() -> dict[str, dict[str, object]]:
        done = cli(kube_cluster, ns, "jobs", "--json")
        assert done.returncode == 0, done.stderr
        return {j["id"]: j for j in json.loads(done.stdout)}

    jobs = wait_sync(
        lambda: (
            (j := listed()).get("vidbroken", {}).get("state") == "failed"
            and j.get("vidlong", {}).get("state") == "running"
            and j
        ),
        90,
        "one failed and one running item listed",
    )
    assert set(jobs) == {"vidbroken", "vidlong"}

    done = cli(kube_cluster, ns, "retry", "vidbroken")
    assert done.returncode == 0, done.stderr
    fresh = batch.read_namespaced_job("broken-mkv-transcode", ns)
    assert fresh.metadata.annotations["ponyconsole/retries"] == "1"

    refused = cli(kube_cluster, ns, "retry", "vidlong")
    assert refused.returncode == 1 and refused.stderr.startswith("ponyconsole retry: ")

    done = cli(kube_cluster, ns, "cancel", "vidlong")
    assert done.returncode == 0, done.stderr
    wait_sync(
        lambda: not batch.list_namespaced_job(ns, label_selector="ponyconsole/video=vidlong").items,
        60,
        "the cancelled Job deleted",
    )

    try:
        done = cli(kube_cluster, ns, "cordon", "rarity")
        assert done.returncode == 0, done.stderr
        assert core.read_node("rarity").spec.unschedulable is True
        unnamed = cli(kube_cluster, ns, "cordon")
        assert unnamed.returncode == 1 and "name the pony" in unnamed.stderr
    finally:
        done = cli(kube_cluster, ns, "uncordon", "rarity")
    assert done.returncode == 0, done.stderr
    assert not core.read_node("rarity").spec.unschedulable


def test_an_unreachable_cluster_is_one_line_and_exit_1(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: me}}]\n"
        "users: [{name: me, user: {token: x}}]\n"
    )
    argv = [sys.executable, "-m", "ponyconsole.cli", "jobs", "--kubeconfig", str(kubeconfig)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.startswith("ponyconsole jobs: the cluster did not answer")
    assert len(done.stderr.strip().splitlines()) == 1
