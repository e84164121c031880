"""`ponyconsole wait-job` as a real process against real Job status in the test cluster.

kwok ends the pods as the annotations say (cluster/kwokctl.py), so the Job
controller of the real kube-controller-manager sets Complete or Failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from kubernetes import client

from cluster.ponycluster import (
    OUTCOME_ANNOTATION,
    RUN_DURATION_ANNOTATION,
    START_DELAY_ANNOTATION,
    PonyCluster,
)


def _job(name: str, run: str = "1s", fail: bool = False) -> dict[str, Any]:
    notes = {START_DELAY_ANNOTATION: "0s", RUN_DURATION_ANNOTATION: run}
    if fail:
        notes[OUTCOME_ANNOTATION] = "fail"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": notes},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "transcode", "image": "ponyconsole:test"}],
                },
            },
        },
    }


def _create(cluster: PonyCluster, namespace: str, body: dict[str, Any]) -> None:
    api = cluster.api_client()
    try:
        client.BatchV1Api(api).create_namespaced_job(namespace, body)
    finally:
        api.close()


def _true_conditions(cluster: PonyCluster, namespace: str, name: str) -> dict[str, float]:
    """Condition type -> when it became true (Unix time, 1 s resolution)."""
    api = cluster.api_client()
    try:
        job = client.BatchV1Api(api).read_namespaced_job(name, namespace)
    finally:
        api.close()
    return {
        c.type: c.last_transition_time.timestamp()
        for c in job.status.conditions or []
        if c.status == "True"
    }


def _conditions(cluster: PonyCluster, namespace: str, name: str) -> set[str]:
    return set(_true_conditions(cluster, namespace, name))


def _wait_job(
    cluster: PonyCluster, namespace: str, name: str, *extra: str, timeout: float = 90
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    argv = [sys.executable, "-m", "ponyconsole.cli", "wait-job", name, "-n", namespace, *extra]
    start = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - start


@pytest.mark.timeout(120)
def test_exits_0_when_the_job_completes(kube_cluster: PonyCluster, kube_namespace: str) -> None:
    _create(kube_cluster, kube_namespace, _job("film-transcode", run="3s"))
    done, took = _wait_job(kube_cluster, kube_namespace, "film-transcode")
    assert done.returncode == 0, done.stderr
    assert "Job film-transcode completed" in done.stdout
    assert "Complete" in _conditions(kube_cluster, kube_namespace, "film-transcode")
    assert took >= 2.0  # it waited for the 3 s run, it did not answer early


@pytest.mark.timeout(120)
def test_fails_within_seconds_of_a_failed_job(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    _create(kube_cluster, kube_namespace, _job("bad-transcode", run="2s", fail=True))
    done, took = _wait_job(kube_cluster, kube_namespace, "bad-transcode")
    exited = time.time()
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Job bad-transcode failed: ")
    assert "BackoffLimitExceeded" in lines[0]
    conditions = _true_conditions(kube_cluster, kube_namespace, "bad-transcode")
    failed_at = min(t for kind, t in conditions.items() if kind in ("Failed", "FailureTarget"))
    # within seconds of the failure (1 s timestamps; 10 s allows a loaded 2-core CI box)
    assert exited - failed_at < 10.0, f"exit {exited - failed_at:.1f} s after the Job failed"
    assert took < 20, f"wait-job took {took:.1f} s for a Job that failed after ~3 s"


@pytest.mark.timeout(120)
def test_waits_for_a_job_created_later(kube_cluster: PonyCluster, kube_namespace: str) -> None:
    timer = threading.Timer(
        2.0, _create, (kube_cluster, kube_namespace, _job("late-transcode", run="1s"))
    )
    timer.start()
    try:
        done, _took = _wait_job(kube_cluster, kube_namespace, "late-transcode", "--grace", "30")
    finally:
        timer.join()
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(60)
def test_missing_job_fails_after_the_grace_period(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    done, took = _wait_job(kube_cluster, kube_namespace, "ghost-transcode", "--grace", "3")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Job ghost-transcode not found in namespace {kube_namespace} for 3 s"
    )
    assert 2.5 <= took < 15


@pytest.mark.timeout(60)
def test_timeout_is_a_failure(kube_cluster: PonyCluster, kube_namespace: str) -> None:
    _create(kube_cluster, kube_namespace, _job("slow-transcode", run="300s"))
    done, took = _wait_job(kube_cluster, kube_namespace, "slow-transcode", "--timeout", "4")
    assert done.returncode == 4
    assert done.stderr.strip() == "Job slow-transcode did not finish within 4 s"
    assert 3.5 <= took < 15


def test_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", "wait-job", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    assert "--timeout" in done.stdout and "--grace" in done.stdout
