"""Jobs as the pipeline makes them (labels on the Job and its pod), steered by the test stages."""

from __future__ import annotations

from typing import Any

from cluster.kwokctl import OUTCOME_ANNOTATION, RUN_DURATION_ANNOTATION, START_DELAY_ANNOTATION
from ponyconsole.domain.kube_names import (
    JOB_TYPE_LABEL,
    LIBRARY_LABEL,
    OUTPUT_ANNOTATION,
    PART_OF_LABEL,
    PART_OF_VALUE,
    PRESET_ANNOTATION,
    SOURCE_ANNOTATION,
    TITLE_ANNOTATION,
    TRANSCODE,
    VIDEO_LABEL,
    job_name,
)


def pony_job(
    rip: str,
    video: str,
    job_type: str = TRANSCODE,
    *,
    start_delay: str = "0s",
    run_duration: str = "1s",
    fail: bool = False,
    node_selector: dict[str, str] | None = None,
    cpu: str = "1",
    memory: str = "512Mi",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Job as the pipeline makes them (labels on the Job and its pod), kwok-steered."""
    labels = {
        PART_OF_LABEL: PART_OF_VALUE,
        JOB_TYPE_LABEL: job_type,
        VIDEO_LABEL: video,
        LIBRARY_LABEL: "movies",
    }
    pod_notes = {START_DELAY_ANNOTATION: start_delay, RUN_DURATION_ANNOTATION: run_duration}
    if fail:
        pod_notes[OUTCOME_ANNOTATION] = "fail"
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": job_type,
                "image": "ponyconsole/handbrake:test",
                "resources": {"requests": {"cpu": cpu, "memory": memory}},
            }
        ],
    }
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(rip, job_type),
            "labels": labels,
            "annotations": {
                SOURCE_ANNOTATION: f"/srv/inbox/movies/{rip}",
                PRESET_ANNOTATION: "Fast 1080p30",
                TITLE_ANNOTATION: "1",
                OUTPUT_ANNOTATION: f"/srv/library/movies/{rip}.mkv",
                **(annotations or {}),
            },
        },
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": {"labels": labels, "annotations": pod_notes}, "spec": spec},
        },
    }
