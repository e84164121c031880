"""Pod logs of the pony test cluster: container log files in the CRI format, served by kwok.

kwok plays the kubelets, so ``kubectl logs`` of a pod reads a file named by a kwok ``Logs``
(one pod) or ``ClusterLogs`` (every pod of a namespace) object; the file holds CRI log records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

KWOK_GROUP = "kwok.x-k8s.io"
KWOK_API_VERSION = "v1alpha1"


def cri_timestamp(when: dt.datetime | None = None) -> str:
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond * 1000:09d}Z"


def cri_log_records(
    lines: Iterable[str], stream: str = "stdout", when: dt.datetime | None = None
) -> str:
    """Plain lines -> CRI log records ``<RFC3339Nano> <stream> F <text>``, one a line."""
    if stream not in ("stdout", "stderr"):
        raise ValueError(f"stream must be stdout or stderr, not {stream!r}")
    out = []
    for line in lines:
        for part in str(line).splitlines() or [""]:
            out.append(f"{cri_timestamp(when)} {stream} F {part}\n")
    return "".join(out)


def write_cri_log(
    path: Path | str,
    lines: Iterable[str] = (),
    stream: str = "stdout",
    when: dt.datetime | None = None,
) -> Path:
    """Write a container log file in the CRI format (what kwok serves as pod logs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cri_log_records(lines, stream, when))
    return path


def append_cri_log(
    path: Path | str,
    lines: Iterable[str],
    stream: str = "stdout",
    when: dt.datetime | None = None,
) -> Path:
    """Append lines to a CRI log file (a follow stream sees them)."""
    path = Path(path)
    with path.open("a") as f:
        f.write(cri_log_records(lines, stream, when))
        f.flush()
    return path


def serve_pod_logs(
    api: Any,
    namespace: str,
    log_file: Path | str,
    pod: str | None = None,
    containers: Iterable[str] = (),
    name: str | None = None,
) -> None:
    """Make kwok serve ``log_file`` (CRI format) as the logs of a pod's containers.

    ``api`` is a kubernetes ``ApiClient`` allowed to create kwok's log objects. With ``pod``:
    a namespaced ``Logs`` object for that pod. Without: a ``ClusterLogs`` object for every pod
    of ``namespace`` (e.g. Job pods whose names are not known yet). ``containers`` empty means
    all containers.
    """
    from kubernetes import client

    custom = client.CustomObjectsApi(api)
    log: dict[str, object] = {"logsFile": str(Path(log_file).resolve()), "follow": True}
    if containers:
        log["containers"] = list(containers)
    if pod is not None:
        body = {
            "apiVersion": f"{KWOK_GROUP}/{KWOK_API_VERSION}",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace},
            "spec": {"logs": [log]},
        }
        custom.create_namespaced_custom_object(
            KWOK_GROUP, KWOK_API_VERSION, namespace, "logs", body
        )
    else:
        body = {
            "apiVersion": f"{KWOK_GROUP}/{KWOK_API_VERSION}",
            "kind": "ClusterLogs",
            "metadata": {"name": name or f"logs-{namespace}"},
            "spec": {"selector": {"matchNamespaces": [namespace]}, "logs": [log]},
        }
        custom.create_cluster_custom_object(KWOK_GROUP, KWOK_API_VERSION, "clusterlogs", body)
