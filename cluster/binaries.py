"""Where the binaries of the pony test cluster are (built by ``cluster/build``), and which."""

from __future__ import annotations

import os
from pathlib import Path

from cluster.errors import ClusterError

KUBE_VERSION = "v1.35.4"
KWOK_VERSION = "v0.7.0"
CACHE_KEY = f"{KUBE_VERSION}-kwok{KWOK_VERSION.removeprefix('v')}"

REQUIRED_BINARIES = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwokctl",
]


def cache_dir() -> Path:
    base = os.environ.get("PONYCONSOLE_CLUSTER_CACHE") or str(
        Path.home() / ".cache" / "ponyconsole" / "cluster"
    )
    return Path(base) / CACHE_KEY


def bin_dir() -> Path:
    return cache_dir() / "bin"


def check_binaries(directory: Path | None = None) -> Path:
    """Return the folder of the cluster binaries, or fail loudly if any is missing."""
    directory = directory or bin_dir()
    missing = [b for b in REQUIRED_BINARIES if not os.access(directory / b, os.X_OK)]
    if missing:
        raise ClusterError(
            f"test cluster binaries missing in {directory}: {', '.join(missing)}. "
            "Build them with `cluster/build` (or `make cluster-bin`; `make test` does it), "
            "which needs Go and the Go module proxy (about 10 min cold on 2 cores)."
        )
    return directory
