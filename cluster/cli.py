"""``cluster/up``: start the pony test cluster for manual use until Ctrl-C.

Prints the ``export KUBECONFIG=...`` line of the running cluster; Ctrl-C (or SIGTERM) stops
every process. ``python -m cluster.cli up [--dir DIR] [--pod-delay SECONDS]``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from cluster.binaries import KUBE_VERSION
from cluster.errors import ClusterError
from cluster.ponycluster import PonyCluster


def _fmt_mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="cluster/up",
        description="Start the pony test cluster: a real Kubernetes control plane with six "
        "fake pony nodes.",
    )
    p.add_argument("command", choices=["up"], nargs="?", default="up")
    p.add_argument("--dir", help="folder for the cluster's files (default: a new temp folder)")
    p.add_argument("--pod-delay", type=float, default=0.5, help="seconds per pod stage")
    args = p.parse_args(argv)

    try:
        cluster = PonyCluster.start(args.dir, pod_delay=args.pod_delay)
    except ClusterError as e:
        print(f"cluster/up: {e}", file=sys.stderr)
        return 1
    stop = False

    def _sig(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _sig)
    signal.signal(signal.SIGTERM, _sig)
    try:
        print(f"pony cluster Ready in {cluster.timings['ready']:.1f} s ({cluster.server})")
        print("nodes: " + ", ".join(cluster.nodes))
        print(
            "memory (RSS): "
            + ", ".join(f"{k} {_fmt_mb(v)}" for k, v in sorted(cluster.rss().items()))
        )
        kubectl = cluster.bin / "kubectl"
        if kubectl.exists():
            print(f"kubectl {KUBE_VERSION}: {kubectl}")
        print("Press Ctrl-C to stop it. Then, in another shell:\n")
        print(f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
        while not stop:
            time.sleep(0.2)
    finally:
        print("\nstopping the pony cluster...", file=sys.stderr)
        cluster.stop()
        print("stopped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
