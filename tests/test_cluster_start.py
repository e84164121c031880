"""The cluster driver notices a component whose port another process took (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.ponycluster import ClusterError, PonyCluster

KWOK_BIND_FAILURE = (
    '{"level":"ERROR","msg":"Failed to run server",'
    '"err":"listen tcp 127.0.0.1:32757: bind: address already in use"}\n'
)


def test_a_component_that_lost_its_port_ends_the_wait_at_once(tmp_path: Path) -> None:
    """Two clusters starting together: kwokctl chose a port the other's etcd then bound.

    kwok-controller logs the bind failure and never serves, so the nodes never get Ready:
    wait_ready says so within a second or two instead of waiting its timeout out, with the
    words ``start`` retries on (fresh ports).
    """
    cluster = PonyCluster(root=tmp_path, kubeconfig=tmp_path / "kubeconfig", bin=tmp_path)
    logs = cluster.workdir / "logs"
    logs.mkdir(parents=True)
    (logs / "etcd.log").write_text("serving on 127.0.0.1:32757\n")
    assert cluster._port_taken() is None
    (logs / "kwok-controller.log").write_text(KWOK_BIND_FAILURE)
    assert cluster._port_taken() == "kwok-controller"
    cluster._client = object()  # type: ignore[assignment]  # never asked: the log answers first
    with pytest.raises(ClusterError, match="kwok-controller: address already in use"):
        cluster.wait_ready(timeout=30)
