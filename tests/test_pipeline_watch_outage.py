"""The watcher claims a rip while the API server is down, keeps it, and creates its Jobs later.

In a module of its own: it stops the session's shared kube-apiserver, and
starts it again (``ensure_running``) whatever happens.
"""

from __future__ import annotations

import os
import time

import pytest

from cluster.ponycluster import PonyCluster
from tests.kube_support import wait_for
from tests.pipeline_support import WatcherProcess, pipeline_jobs

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]


def test_an_apiserver_stopped_during_pick_up_loses_nothing(
    kube_cluster: PonyCluster, kube_namespace: str, tmp_path
) -> None:
    share = tmp_path / "share"
    inbox = share / "watch" / "movies"
    inbox.mkdir(parents=True)
    api = kube_cluster.api_client()
    watcher = WatcherProcess(share, kube_cluster.kubeconfig, kube_namespace, settle=0.5)
    try:
        watcher.wait_log("watching", 20)
        kube_cluster.stop_apiserver()
        rip = inbox / "During Outage.mkv"
        rip.write_bytes(b"z" * 4096)
        old = time.time() - 3600
        os.utime(rip, (old, old))
        claimed = share / "claim" / "movies" / rip.name
        wait_for(claimed.exists, 15, "the rip claimed while the API is down")
        watcher.wait_log("API unreachable", 30, count=2)  # retried, backing off
        assert claimed.read_bytes() == b"z" * 4096, "kept in claim/, untouched"
        assert not list((share / "fail").rglob("*")), "an outage is not a failure"
        down_at = time.monotonic()
        kube_cluster.start_apiserver()
        watcher.wait_log("jobs created for claim/movies/During Outage.mkv", 60)
        print(f"jobs created {time.monotonic() - down_at:.1f} s after start_apiserver was called")
        names = sorted(j["metadata"]["name"] for j in pipeline_jobs(api, kube_namespace))
        assert names == ["during-outage-mkv-transcode", "during-outage-mkv-upload"]
        assert claimed.exists()
        text = watcher.text()
        waits = [
            float(w.split("retry in ")[1].split(" s")[0])
            for w in text.splitlines()
            if "retry in" in w
        ]
        print("backoffs:", waits)
        assert max(waits) <= 30.0 and len(set(waits)) == len(waits), "jittered, capped"
    finally:
        kube_cluster.ensure_running()
        print(watcher.stop())
