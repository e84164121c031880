"""What live node agents cost the whole console (not only its poller), with 6 and 30 agents.

bench_agent_cost.py measured ``AgentPoller`` alone in a child process. This one
measures the real console in cluster mode, in a 160x48 tmux pane, against its
own test cluster (bench_cluster_cost.py's helpers), idle with 20 finished Jobs:
CPU (% of one core) and RSS of the console, with ``--no-agents`` and with a
real ``ponyconsole agent`` per node polled once a second (figures parsed,
tiles updated and repainted, per-agent sources, Wh questions). First with 30
nodes (the six ponies plus 24 kwok nodes at 127.1.0.1-24, each with its agent
on that address), then with the 24 extra nodes deleted and six agents. The
cost of the agents is (with agents) - (without), at 6 and at 30; the cost of
one extra agent is the difference of those / 24, extrapolated to 300.

    .venv/bin/python bench/bench_console_agents.py [--seconds 30] [--repeats 1]

Run it under `flock /work/wt/bench.lock`. Everything stops by itself (agents,
tmux server, cluster) on errors and Ctrl-C too.

Measured 2026-11-29 (2 cores, load average 7-21 from other work, 30 s windows x 2),
with the agents polled on one shared tick: without agents 0.22 % of a core and
99.9 MiB (6 nodes), 0.15 % and 100.4 MiB (30 nodes); with 6 live agents 3.27 % and
101.7 MiB, with 30 3.83 % and 104.8 MiB. So the agents cost the console 3.05 % (6)
and 3.68 % (30): 0.026 % of a core and ~110 KiB per extra agent, ~11 % of a core
extrapolated to 300. Before the shared tick (each agent on its own phase): 3.10 % (6)
and 4.98 % (30), 0.078 % per extra agent. The aim for 6 agents (<= 1 %) is not met:
the poller alone is 0.40 % (bench_agent_cost.py); the rest is the tiles' repaint
(Textual's compositor and the tiles' render_line, per cProfile).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_cluster_cost import (
    Panes,
    console_client,
    fill_jobs,
    measure,
    private_env,
    running_cluster,
)

from cluster.ponies import PONIES, extra_node_names
from cluster.ponycluster import PonyCluster
from tests.agent_support import AgentProcess, free_port, start_agent

EXTRA = 24


def start_agents(where: list[tuple[str, str]], port: int) -> dict[str, AgentProcess]:
    with ThreadPoolExecutor(8) as pool:
        started = list(pool.map(lambda nw: start_agent(nw[0], nw[1], port), where))
    return {a.node: a for a in started}


def one_run(
    panes: Panes,
    cluster: PonyCluster,
    env: list[str],
    done: tuple[int, int],
    nodes: int,
    label: str,
    options: list[str],
    args: argparse.Namespace,
) -> tuple[float, float]:
    client = console_client(cluster.kubeconfig, env, nodes, *done)
    client.argv += options
    client.key = label
    client.label = label
    panes.start(client)
    time.sleep(args.settle)
    screen = panes.capture(client)
    if "--no-agents" not in options and ("unreachable" in screen or "no agent" in screen):
        panes.stop(client)
        raise SystemExit(f"{label}: an agent is not read:\n{screen}")
    load = os.getloadavg()[0]
    cpu, rss = measure(panes, [client], args.seconds)[label]
    panes.stop(client)
    print(f"  {label:28s} CPU {cpu:5.2f} % of a core   RSS {rss:6.1f} MiB   (load {load:.1f})")
    return cpu, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=6.0, help="pause after the first paint")
    parser.add_argument("--repeats", type=int, default=1, help="windows per configuration")
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=48)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("bench_console_agents: tmux is needed")

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    tmp = Path(tempfile.mkdtemp(prefix="ponybench-agents-"))
    agents: dict[str, AgentProcess] = {}
    figures: dict[str, list[tuple[float, float]]] = {}
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    try:
        with running_cluster(EXTRA) as cluster:
            from kubernetes import client as kube

            done = fill_jobs(cluster, 20)
            extra = extra_node_names(EXTRA)
            where = [(name, ip) for name, ip, _ in PONIES]
            where += [(name, f"127.1.{i // 256}.{i % 256}") for i, name in enumerate(extra, 1)]
            port = free_port("127.0.0.11")
            agents = start_agents(where, port)
            print(f"{len(agents)} agents on port {port}", flush=True)
            env = private_env(tmp)
            panes = Panes(args.width, args.height)
            try:
                for count in (30, 6):
                    if count == 6:
                        core = kube.CoreV1Api(cluster.api_client())
                        for name in extra:
                            core.delete_node(name)
                            agents.pop(name).stop()
                    for _ in range(args.repeats):
                        for label, options in (
                            (f"{count} nodes, --no-agents", ["--no-agents"]),
                            (f"{count} nodes, {count} agents", ["--agent-port", str(port)]),
                        ):
                            run = one_run(panes, cluster, env, done, count, label, options, args)
                            figures.setdefault(label, []).append(run)
            finally:
                panes.close()
    finally:
        for agent in agents.values():
            agent.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(figures, args)
    return 0


def report(figures: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    def mean(label: str, i: int) -> float:
        runs = figures[label]
        return sum(r[i] for r in runs) / len(runs)

    print(f"\nthe console in cluster mode, idle, {args.seconds:.0f} s windows x {args.repeats}:")
    cost = {}
    for count in (6, 30):
        off, on = f"{count} nodes, --no-agents", f"{count} nodes, {count} agents"
        cost[count] = (mean(on, 0) - mean(off, 0), mean(on, 1) - mean(off, 1))
        print(
            f"  {count:2d} nodes: without agents {mean(off, 0):5.2f} %, {mean(off, 1):5.1f} MiB;"
            f" with {count} live agents {mean(on, 0):5.2f} %, {mean(on, 1):5.1f} MiB;"
            f" the agents cost {cost[count][0]:+.2f} % and {cost[count][1]:+.1f} MiB"
        )
    per = (cost[30][0] - cost[6][0]) / EXTRA
    per_mib = (cost[30][1] - cost[6][1]) / EXTRA
    print(
        f"  one extra agent: {per:.3f} % of a core, {per_mib * 1024:.0f} KiB;"
        f" 300 agents (extrapolated): {cost[6][0] + per * 294:.1f} % of a core for the agents,"
        f" {mean('6 nodes, 6 agents', 0) + per * 294:.1f} % for the whole console"
    )


if __name__ == "__main__":
    sys.exit(main())
