"""jobchain on the real API server: names, labels, annotations, the wait-job init, idempotence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kubernetes import client

from ponyconsole.domain import kube_names as kn
from ponyconsole.pipeline.jobchain import Rip, Target, ensure_chain, existing_jobs
from ponyconsole.pipeline.share import Share
from tests.kube_support import read_job

pytestmark = pytest.mark.cluster

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def target(namespace: str, tmp_path: Path) -> Target:
    return Target(namespace, Share(tmp_path), image="ponyconsole:test", share_host_path="/srv/x")


def test_creates_both_jobs_with_names_labels_annotations_and_init(
    kube_cluster, kube_namespace, tmp_path
):
    api = kube_cluster.api_client()
    rip = Rip("movies", "The Movie (2001).mkv", 1234, None, "H.264 MKV 1080p30")
    chain = ensure_chain(api, rip, target(kube_namespace, tmp_path))
    assert chain.transcode == "the-movie-2001-mkv-transcode"
    assert chain.upload == "the-movie-2001-mkv-upload"
    assert set(chain.created) == {chain.transcode, chain.upload}
    assert chain.video == kn.stable_id("movies", "The Movie (2001).mkv", 1234, None)
    for name, kind in ((chain.transcode, kn.TRANSCODE), (chain.upload, kn.UPLOAD)):
        job = read_job(api, kube_namespace, name)
        assert job is not None
        labels = job["metadata"]["labels"]
        assert labels[kn.JOB_TYPE_LABEL] == kind
        assert labels[kn.VIDEO_LABEL] == chain.video
        assert labels[kn.LIBRARY_LABEL] == "movies"
        assert labels[kn.PART_OF_LABEL] == kn.PART_OF_VALUE
        notes = job["metadata"]["annotations"]
        assert notes[kn.SOURCE_ANNOTATION] == "/share/claim/movies/The Movie (2001).mkv"
        assert notes[kn.PRESET_ANNOTATION] == "H.264 MKV 1080p30"
        assert notes[kn.TITLE_ANNOTATION] == "main"
        assert (
            notes[kn.OUTPUT_ANNOTATION] == f"/share/work/movies/{chain.video}/The Movie (2001).mkv"
        )
        assert notes[kn.RETRIES_ANNOTATION] == "0"
        pod = job["spec"]["template"]["spec"]
        assert pod["volumes"][0]["hostPath"]["path"] == "/srv/x"
        assert pod["containers"][0]["image"] == "ponyconsole:test"
    upload = read_job(api, kube_namespace, chain.upload)
    init = upload["spec"]["template"]["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["wait-job"]
    assert init[0]["command"] == ["ponyconsole", "wait-job"]
    assert init[0]["args"] == [chain.transcode]


def test_twice_gives_one_pipeline_and_a_missing_half_is_completed(
    kube_cluster, kube_namespace, tmp_path
):
    api = kube_cluster.api_client()
    rip = Rip("movies", "Twice.mkv", 10)
    tgt = target(kube_namespace, tmp_path)
    first = ensure_chain(api, rip, tgt)
    again = ensure_chain(api, rip, tgt)
    assert again.existed and (again.transcode, again.upload) == (first.transcode, first.upload)
    batch = client.BatchV1Api(api)
    jobs = batch.list_namespaced_job(kube_namespace, label_selector=f"{kn.VIDEO_LABEL}={rip.video}")
    assert len(jobs.items) == 2
    uid = read_job(api, kube_namespace, first.transcode)["metadata"]["uid"]
    # a crash between the two creates: the upload is missing; the transcode is kept, not replaced
    batch.delete_namespaced_job(first.upload, kube_namespace, propagation_policy="Background")
    kube_wait_gone(api, kube_namespace, first.upload)
    third = ensure_chain(api, rip, tgt)
    assert third.created == (first.upload,)
    assert read_job(api, kube_namespace, first.transcode)["metadata"]["uid"] == uid


def kube_wait_gone(api, namespace: str, name: str) -> None:
    from tests.kube_support import wait_for

    wait_for(lambda: read_job(api, namespace, name) is None, 15, f"job {name} to go")


def test_same_name_other_rip_gets_a_qualified_name(kube_cluster, kube_namespace, tmp_path):
    api = kube_cluster.api_client()
    tgt = target(kube_namespace, tmp_path)
    one = ensure_chain(api, Rip("movies", "Film.mkv", 1), tgt)
    two = ensure_chain(api, Rip("kids", "Film.mkv", 1), tgt)
    assert one.transcode == "film-mkv-transcode"
    assert two.transcode != one.transcode and DNS_1123.match(two.transcode)
    assert two.video != one.video and not two.existed
    assert len(existing_jobs(api, kube_namespace, two.video)) == 2
    upload = read_job(api, kube_namespace, two.upload)
    assert upload["spec"]["template"]["spec"]["initContainers"][0]["args"] == [two.transcode]


def test_long_hostile_name_is_dns_1123_with_a_hash(kube_cluster, kube_namespace, tmp_path):
    api = kube_cluster.api_client()
    name = "Ünïcødé 'quoted' $(rm -rf) " + "x" * 200 + "\n;--.mkv"
    chain = ensure_chain(api, Rip("movies", name, 5), target(kube_namespace, tmp_path))
    for job in (chain.transcode, chain.upload):
        assert len(job) <= 63 and DNS_1123.match(job), job
        assert re.search(r"-[0-9a-f]{8}-(transcode|upload)$", job), job
    notes = read_job(api, kube_namespace, chain.transcode)["metadata"]["annotations"]
    assert notes[kn.SOURCE_ANNOTATION] == f"/share/claim/movies/{name}"


def test_a_library_that_is_no_label_value_is_labelled_safely_and_passed_as_is(
    kube_cluster, kube_namespace, tmp_path
):
    api = kube_cluster.api_client()
    chain = ensure_chain(api, Rip("Kids Movies", "Up.mkv", 3), target(kube_namespace, tmp_path))
    upload = read_job(api, kube_namespace, chain.upload)
    assert upload["metadata"]["labels"][kn.LIBRARY_LABEL] == "kids-movies"
    args = upload["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--section") + 1] == "Kids Movies"
    assert args[args.index("--library-dir") + 1] == "/share/library/Kids Movies"
    assert (
        upload["metadata"]["annotations"][kn.SOURCE_ANNOTATION] == "/share/claim/Kids Movies/Up.mkv"
    )
