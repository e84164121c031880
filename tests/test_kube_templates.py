"""k8s/ manifests and Job templates, read from the package (no cluster needed)."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pytest

from ponyconsole.backends.kube.templates import (
    load_manifests,
    manifest_files,
    manifests_dir,
    placeholders,
    render_template,
)
from ponyconsole.domain import kube_names as kn

ROOT = Path(__file__).resolve().parent.parent

VALUES = {
    "JOB_NAME": "the-movie-2001-mkv-transcode",
    "VIDEO_ID": "0123456789ab",
    "LIBRARY": "movies",
    "SOURCE": '/share/claim/movies/The Movie: "2001".mkv',
    "PRESET": "H.264 MKV 1080p30",
    "TITLE": 1,
    "OUTPUT": "/share/work/movies/The Movie (2001).mkv",
    "TRANSCODE_JOB": "the-movie-2001-mkv-transcode",
}


def test_top_level_k8s_is_the_packaged_folder():
    top = ROOT / "k8s"
    assert top.exists(), "k8s/ is missing at the top of the repository"
    packaged = manifests_dir()
    names = sorted(p.name for p in top.glob("*.yaml"))
    assert names == sorted(p.name for p in packaged.glob("*.yaml"))
    assert {"namespace.yaml", "rbac-console.yaml", "job-transcode.yaml", "job-upload.yaml"} <= set(
        names
    )
    for name in names:
        assert filecmp.cmp(top / name, packaged / name, shallow=False), name
    assert os.path.realpath(top) == os.path.realpath(packaged) or top.is_dir()


@pytest.mark.parametrize("kind", [kn.TRANSCODE, kn.UPLOAD])
def test_job_template_carries_the_labels_and_annotations_of_kube_names(kind: str):
    job = render_template(kind, {**VALUES, "JOB_NAME": f"x-{kind}"})
    assert placeholders(job) == set()
    meta = job["metadata"]
    assert meta["name"] == f"x-{kind}"
    assert meta["namespace"] == "ponyconsole"
    labels = {
        kn.PART_OF_LABEL: kn.PART_OF_VALUE,
        kn.JOB_TYPE_LABEL: kind,
        kn.VIDEO_LABEL: VALUES["VIDEO_ID"],
        kn.LIBRARY_LABEL: "movies",
    }
    assert meta["labels"] == labels
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    ann = meta["annotations"]
    assert ann[kn.SOURCE_ANNOTATION] == VALUES["SOURCE"]  # quotes and colon kept as text
    assert ann[kn.TITLE_ANNOTATION] == "1"
    assert ann[kn.PRESET_ANNOTATION] == VALUES["PRESET"]
    assert ann[kn.OUTPUT_ANNOTATION] == VALUES["OUTPUT"]
    assert ann[kn.RETRIES_ANNOTATION] == "0"
    assert all(isinstance(v, str) for v in ann.values())
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert "ttlSecondsAfterFinished" not in spec
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == "ponyconsole:latest"
    assert container["command"] == ["ponyconsole", kind]
    assert container["resources"]["requests"]


def test_transcode_asks_for_three_cpus_and_the_upload_waits_for_its_transcode():
    transcode = render_template(kn.TRANSCODE, VALUES)
    (c,) = transcode["spec"]["template"]["spec"]["containers"]
    assert c["resources"]["requests"] == {"cpu": "3", "memory": "2Gi"}
    assert VALUES["SOURCE"] in c["args"]
    upload = render_template(kn.UPLOAD, {**VALUES, "JOB_NAME": "the-movie-2001-mkv-upload"})
    (init,) = upload["spec"]["template"]["spec"]["initContainers"]
    assert init["name"] == "wait-job"
    assert [*init["command"], *init["args"]] == [
        "ponyconsole",
        "wait-job",
        "the-movie-2001-mkv-transcode",
    ]


def test_missing_values_are_named():
    with pytest.raises(ValueError, match="LIBRARY, SOURCE"):
        render_template(
            kn.TRANSCODE, {k: v for k, v in VALUES.items() if k not in ("LIBRARY", "SOURCE")}
        )
    with pytest.raises(ValueError, match="no Job template"):
        render_template("rip", VALUES)


def test_defaults_can_be_overridden():
    job = render_template(kn.TRANSCODE, {**VALUES, "NAMESPACE": "elsewhere", "IMAGE": "r/p:1"})
    assert job["metadata"]["namespace"] == "elsewhere"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "r/p:1"


def test_manifests_move_to_another_namespace():
    docs = load_manifests("rbac-console.yaml", "t-1")
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            assert "namespace" not in meta
        else:
            assert meta["namespace"] == "t-1", doc
        for subject in doc.get("subjects", []):
            assert subject["namespace"] == "t-1"
        if doc["kind"] == "ClusterRoleBinding":
            assert meta["name"].endswith(":t-1")
    (ns,) = load_manifests("namespace.yaml", "t-1")
    assert ns["metadata"]["name"] == "t-1"
    assert len(manifest_files()) >= 4
