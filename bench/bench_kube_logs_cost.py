"""The kube backend alone (no UI) following six running transcodes' logs: its CPU.

Starts the pony test cluster with 200 finished Jobs and six live transcodes whose CRI log
files grow at HandBrake's real pace (a real HandBrakeCLI capture replayed, as in
bench_cluster_cost.py), then runs the backend in a child process, which subscribes to its
events and measures its own CPU over a window: in total, on the loop's thread and in the
log threads. With --baseline REV the same is measured for the package as it was at REV
(from `git archive`), alternating with this tree's, so both see the same load.

    flock /work/wt/bench.lock .venv/bin/python bench/bench_kube_logs_cost.py \\
        [--seconds 30] [--rounds 2] [--baseline REV]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


async def measure(kubeconfig: str, seconds: float) -> None:
    """In the child: the backend's CPU while it follows what runs on the cluster."""
    import psutil

    from ponyconsole.backends.kube.backend import KubeBackend

    backend = KubeBackend(kubeconfig, namespace="ponyconsole", agents=False)
    events = backend.events()
    await backend.start()
    count = 0

    async def consume() -> None:
        nonlocal count
        async for _event in events:
            count += 1

    task = asyncio.create_task(consume())
    await asyncio.wait_for(backend.first_sync.wait(), 60)
    await asyncio.sleep(5)
    proc = psutil.Process()
    before = {t.id: t.user_time + t.system_time for t in proc.threads()}
    cpu0, t0, n0 = time.process_time(), time.monotonic(), count
    await asyncio.sleep(seconds)
    span = time.monotonic() - t0
    used = time.process_time() - cpu0
    after = {t.id: t.user_time + t.system_time for t in proc.threads()}
    names = {t.native_id: t.name for t in threading.enumerate()}
    main = threading.main_thread().native_id or 0
    loop_cpu = after.get(main, 0.0) - before.get(main, 0.0)
    logs = sum(
        v - before.get(k, 0.0) for k, v in after.items() if names.get(k, "").startswith("log-")
    )
    print(
        f"{os.environ.get('PONYBENCH_LABEL', 'this tree')}: backend {100 * used / span:.2f} % "
        f"of a core (loop thread {100 * loop_cpu / span:.2f} %, log threads "
        f"{100 * logs / span:.2f} %), {len(backend.followers)} logs followed, "
        f"{(count - n0) / span:.1f} events/s",
        flush=True,
    )
    task.cancel()
    await backend.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", metavar="REV", default="")
    parser.add_argument("--child", nargs=2, metavar=("KUBECONFIG", "SECONDS"), help="internal")
    args = parser.parse_args()
    if args.child:
        asyncio.run(measure(args.child[0], float(args.child[1])))
        return 0

    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT))
    import cluster_load as load
    from bench_cluster_cost import NAMESPACE, PONY_NAMES, fill_jobs, running_cluster
    from handbrake_replay import LogFeeder, cached_capture

    tmp = Path(tempfile.mkdtemp(prefix="ponybench-logs-"))
    trees = [("this tree", "")]
    if args.baseline:
        base = tmp / "baseline"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "ponyconsole"],
            capture_output=True, check=True, timeout=60,
        )  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        trees.append((f"at {args.baseline}", str(base)))
    capture = cached_capture()
    with running_cluster(0) as cluster:
        fill_jobs(cluster, 200)
        files = load.start_live_transcodes(cluster, NAMESPACE, PONY_NAMES, tmp / "podlogs")
        feeder = LogFeeder(capture, files)
        feeder.start()
        try:
            for _ in range(args.rounds):
                for label, path in trees:
                    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                    env["PONYBENCH_LABEL"] = label
                    if path:
                        env["PYTHONPATH"] = path
                    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
                    subprocess.run(
                        [sys.executable, __file__, "--child", str(cluster.kubeconfig),
                         str(args.seconds)],
                        env=env, timeout=args.seconds + 240, check=True,
                    )  # fmt: skip
        finally:
            feeder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
