"""`ponyconsole watch` as a real process against the real test cluster and real files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ponyconsole.domain import kube_names as kn
from ponyconsole.pipeline.jobchain import Rip
from tests.kube_support import wait_for
from tests.pipeline_support import WatcherProcess, job_names, pipeline_jobs

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]

OLD = time.time() - 86400  # a copy tool that keeps the source's mtime (cp -p, rsync -t)


def test_a_growing_file_is_claimed_only_when_settled_then_one_pair_of_jobs(
    kube_cluster, kube_namespace, tmp_path
):
    share = tmp_path / "share"
    inbox = share / "watch" / "movies"
    inbox.mkdir(parents=True)
    api = kube_cluster.api_client()
    watcher = WatcherProcess(share, kube_cluster.kubeconfig, kube_namespace, settle=1.5)
    try:
        watcher.wait_log("watching", 20)
        rip = inbox / "Slow Copy (2024).mkv"
        with rip.open("wb") as f:
            for _ in range(12):  # 12 chunks, 0.4 s apart: 4.8 s of copying, settle is 1.5 s
                f.write(os.urandom(64 * 1024))
                f.flush()
                os.utime(rip, (OLD, OLD))
                time.sleep(0.4)
                assert rip.exists(), "claimed while still being copied"
        assert not (share / "claim" / "movies" / rip.name).exists()
        copied_at = time.monotonic()
        claimed = share / "claim" / "movies" / rip.name
        wait_for(claimed.exists, 15, "the settled rip to be claimed")
        waited = time.monotonic() - copied_at
        print(f"claimed {waited:.1f} s after the last write (settle 1.5 s)")
        assert waited >= 1.0
        assert not rip.exists()
        watcher.wait_log("jobs created", 20)
        video = Rip("movies", rip.name, 12 * 64 * 1024).video
        jobs = pipeline_jobs(api, kube_namespace)
        assert sorted(j["metadata"]["name"] for j in jobs) == [
            "slow-copy-2024-mkv-transcode",
            "slow-copy-2024-mkv-upload",
        ]
        assert {j["metadata"]["labels"][kn.VIDEO_LABEL] for j in jobs} == {video}
        assert watcher.text().count("seen watch/movies/Slow Copy (2024).mkv") == 1
    finally:
        print(watcher.stop())


def test_restart_creates_nothing_twice_and_adopts_a_claim_without_jobs(
    kube_cluster, kube_namespace, tmp_path
):
    share = tmp_path / "share"
    (share / "watch" / "movies").mkdir(parents=True)
    (share / "watch" / "bad\nlib").mkdir(parents=True)
    (share / "watch" / "movies" / "First.mkv").write_bytes(b"x" * 1000)
    (share / "watch" / "bad\nlib" / "Nope.mkv").write_bytes(b"x")
    for p in (share / "watch").rglob("*.mkv"):
        os.utime(p, (OLD, OLD))
    api = kube_cluster.api_client()
    first = WatcherProcess(share, kube_cluster.kubeconfig, kube_namespace, settle=0.5)
    try:
        first.wait_log("jobs created", 20)
        first.wait_log("refused watch/bad", 5)
    finally:
        first.stop()
    before = {
        j["metadata"]["name"]: j["metadata"]["uid"] for j in pipeline_jobs(api, kube_namespace)
    }
    assert sorted(before) == ["first-mkv-transcode", "first-mkv-upload"]
    # a rip claimed by a watcher that died before creating its Jobs
    orphan = share / "claim" / "movies" / "Orphan.mkv"
    orphan.write_bytes(b"y" * 500)
    second = WatcherProcess(share, kube_cluster.kubeconfig, kube_namespace, settle=0.5)
    try:
        text = second.wait_log("jobs created for claim/movies/Orphan.mkv", 20)
        second.wait_log("jobs exist for claim/movies/First.mkv", 10)
        time.sleep(1.0)  # a few more polls: nothing else happens
    finally:
        text = second.stop()
    after = {
        j["metadata"]["name"]: j["metadata"]["uid"] for j in pipeline_jobs(api, kube_namespace)
    }
    assert sorted(after) == sorted([*before, "orphan-mkv-transcode", "orphan-mkv-upload"])
    assert all(after[name] == uid for name, uid in before.items()), "never replaced"
    assert "adopted claim/movies/Orphan.mkv" in text
    assert (share / "watch" / "bad\nlib" / "Nope.mkv").exists(), "a refused rip stays in place"
    assert orphan.exists() and (share / "claim" / "movies" / "First.mkv").exists()
    assert job_names(api, kube_namespace) == sorted(after)


def test_a_name_clash_in_claim_gets_a_suffix_never_overwrites(
    kube_cluster, kube_namespace, tmp_path
):
    share = tmp_path / "share"
    (share / "watch" / "movies").mkdir(parents=True)
    (share / "claim" / "movies").mkdir(parents=True)
    taken = share / "claim" / "movies" / "Same.mkv"
    taken.write_bytes(b"old" * 100)
    new = share / "watch" / "movies" / "Same.mkv"
    new.write_bytes(b"new" * 200)
    os.utime(new, (OLD, OLD))
    watcher = WatcherProcess(share, kube_cluster.kubeconfig, kube_namespace, settle=0.5)
    try:
        watcher.wait_log("jobs created for claim/movies/Same (2).mkv", 20)
    finally:
        watcher.stop()
    assert taken.read_bytes() == b"old" * 100
    assert (share / "claim" / "movies" / "Same (2).mkv").read_bytes() == b"new" * 200
    assert len(pipeline_jobs(kube_cluster.api_client(), kube_namespace)) == 4


def test_watch_help_and_a_missing_kubeconfig(tmp_path: Path):
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "ponyconsole.cli", "watch", "--help"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "--settle" in ok.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "ponyconsole.cli",
            "watch",
            "--share",
            str(tmp_path),
            "--kubeconfig",
            str(tmp_path / "nope"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr
