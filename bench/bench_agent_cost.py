"""What a node agent costs, next to prometheus-node-exporter; what polling agents costs the console.

Part "agent": one real `ponyconsole agent` (1 Hz sampling) read once a second
over HTTP, as the console reads it, and in the same run Debian's
prometheus-node-exporter scraped once a second, as a Prometheus would. Each is
measured over the same window: CPU (% of one core, from the process's own
CPU times) and RSS. The exporter is installed on demand (apt-get, root only)
unless --no-exporter; it is not needed by `make test`.

Part "console": the console's side alone, ``AgentPoller`` in a child process
polling N real agents (on 127.0.0.11, .12, ...; one port) at 1 Hz, measured
with 6 and with 30 agents. The cost per extra agent is the difference / 24,
extrapolated to 300 agents. (The poller alone, not the whole console: the
console's own idle cost is bench_console_cost.py's.)

    .venv/bin/python bench/bench_agent_cost.py [--seconds 30] [--part agent|console|both]

Measured on the 2-core dev machine (load average 18-22 from other work), 30 s windows:
agent 0.20 % of a core and 25.4 MiB RSS, prometheus-node-exporter 1.5.0 0.96 % and
19.9 MiB in the same run (target met: <= 0.5 %, <= 40 MB). AgentPoller alone: 6 agents
0.40 % and 35.2 MiB, 30 agents 1.95 % and 35.4 MiB; 0.065 % of a core per extra agent,
so ~19 % of a core for 300 agents at 1 Hz (extrapolated; a poll a second per agent is
aiohttp's request cost, ~0.65 ms of CPU each).

With a Kasa plug (2026-11-29, `flock /work/wt/bench.lock ... --part agent --seconds 30`,
load average 8.4): the agent reading a fake HS110 through python-kasa once a second
0.30 % of a core and 54.2 MiB RSS (41.5 MiB USS), the estimating agent 0.23 % and
27.4 MiB, prometheus-node-exporter 0.93 % and 20.4 MiB in the same window. The CPU aim
is met; the RSS aim (<= 40 MB) is not with a plug: importing python-kasa (aiohttp,
cryptography, mashumaro, every device family) adds ~27 MiB. Without a plug the agent
never imports it. The whole console's cost of polling: bench_console_agents.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agent_support import AgentProcess, free_port, start_agent  # noqa: E402
from tests.fake_kasa import start_fake_plug  # noqa: E402

TARGET_CPU, TARGET_RSS = 0.5, 40.0  # the agent: % of a core, MB
EXPORTER = "prometheus-node-exporter"
KASA_AGENT = "ponyconsole agent, Kasa plug"


def measure(pid: int, seconds: float, during: threading.Event | None = None) -> tuple[float, float]:
    """(CPU % of one core over the window, peak RSS MiB) of one process."""
    proc = psutil.Process(pid)
    t0 = proc.cpu_times()
    start = time.monotonic()
    rss = 0.0
    while time.monotonic() - start < seconds:
        rss = max(rss, proc.memory_info().rss / 2**20)
        time.sleep(0.5)
    t1 = proc.cpu_times()
    used = (t1.user - t0.user) + (t1.system - t0.system)
    return 100.0 * used / (time.monotonic() - start), rss


def scrape_forever(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                response.read()
        except OSError:
            pass
        stop.wait(1.0)


def exporter_binary(install: bool) -> str | None:
    found = shutil.which(EXPORTER) or (
        f"/usr/bin/{EXPORTER}" if Path(f"/usr/bin/{EXPORTER}").exists() else None
    )
    if found or not install:
        return found
    if os.geteuid() != 0:
        print(f"{EXPORTER} missing and not root: run `apt-get install -y {EXPORTER}`")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", EXPORTER],
                   check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    return shutil.which(EXPORTER) or f"/usr/bin/{EXPORTER}"


def part_agent(seconds: float, install: bool) -> None:
    port = free_port("127.0.0.1")
    agent = start_agent("bench-pony", "127.0.0.1", port)
    # the same agent reading a Kasa plug (python-kasa over the legacy protocol, once a
    # second) instead of estimating; the fake plug stands in for the hardware, not measured
    plug = start_fake_plug("127.0.0.1")
    kasa = start_agent("bench-kasa", "127.0.0.1", None, "--kasa-host", plug.where)
    runs: list[tuple[str, int, str]] = [
        ("ponyconsole agent", agent.process.pid, f"{agent.url}/v1/metrics"),
        (KASA_AGENT, kasa.process.pid, f"{kasa.url}/v1/metrics"),
    ]
    exporter: subprocess.Popen[bytes] | None = None
    binary = exporter_binary(install)
    if binary:
        eport = free_port("127.0.0.1")
        exporter = subprocess.Popen(
            [binary, f"--web.listen-address=127.0.0.1:{eport}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(2)
        runs.append((EXPORTER, exporter.pid, f"http://127.0.0.1:{eport}/metrics"))
    stop = threading.Event()
    scrapers = [threading.Thread(target=scrape_forever, args=(url, stop), daemon=True)
                for _, _, url in runs]  # fmt: skip
    for thread in scrapers:
        thread.start()
    time.sleep(3)  # past start-up
    results: dict[str, tuple[float, float]] = {}
    threads = [
        threading.Thread(
            target=lambda n=name, p=pid: results.__setitem__(n, measure(p, seconds)), daemon=True
        )
        for name, pid, _ in runs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    source = kasa.metrics()["power_source"]
    agent.stop()
    kasa.stop()
    plug.kill()
    if exporter is not None:
        exporter.terminate()
        exporter.wait(10)
    print(f"load average {os.getloadavg()[0]:.1f}; {seconds:.0f} s window, read once a second")
    for name, (cpu, rss) in results.items():
        print(f"  {name:26s} CPU {cpu:5.2f} % of a core   RSS {rss:6.1f} MiB")
    print(f"  ({KASA_AGENT}: its power source at the end was {source!r})")
    for name in ("ponyconsole agent", KASA_AGENT):
        cpu, rss = results[name]
        print(f"  {name} target: <= {TARGET_CPU} % and <= {TARGET_RSS:.0f} MB: "
              f"{'met' if cpu <= TARGET_CPU and rss <= TARGET_RSS else 'NOT met'}")  # fmt: skip


POLLER = """
import asyncio, sys
from ponyconsole.backends.agents import AgentPoller
async def main(port, addresses):
    poller = AgentPoller(lambda n, m: None, lambda n, s: None, port=port)
    for i, address in enumerate(addresses):
        poller.track(f"pony-{i}", address)
    await asyncio.sleep(3600)
asyncio.run(main(int(sys.argv[1]), sys.argv[2:]))
"""


def part_console(seconds: float) -> None:
    addresses = [f"127.0.0.{11 + i}" for i in range(30)]
    port = free_port(addresses[0])

    async def start_all() -> list[AgentProcess]:
        return list(await asyncio.gather(*(asyncio.to_thread(start_agent, f"pony-{i}", a, port)
                                           for i, a in enumerate(addresses))))  # fmt: skip

    agents = asyncio.run(start_all())
    figures: dict[int, tuple[float, float]] = {}
    try:
        for count in (6, 30):
            poller = subprocess.Popen(
                [sys.executable, "-c", POLLER, str(port), *addresses[:count]], cwd=ROOT
            )
            time.sleep(4)
            figures[count] = measure(poller.pid, seconds)
            poller.terminate()
            poller.wait(10)
    finally:
        for agent in agents:
            agent.stop()
    print(f"load average {os.getloadavg()[0]:.1f}; AgentPoller alone, 1 Hz, {seconds:.0f} s")
    for count, (cpu, rss) in figures.items():
        print(f"  {count:3d} agents: CPU {cpu:5.2f} % of a core   RSS {rss:6.1f} MiB")
    per = (figures[30][0] - figures[6][0]) / 24
    per_rss = (figures[30][1] - figures[6][1]) / 24
    at300 = figures[6][0] + per * 294
    print(f"  per extra agent: {per:.3f} % CPU, {per_rss * 1024:.0f} KiB; "
          f"300 agents (extrapolated): {at300:.1f} % of a core, "
          f"{figures[6][1] + per_rss * 294:.0f} MiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--part", choices=("agent", "console", "both"), default="both")
    parser.add_argument("--no-exporter", action="store_true", help="measure the agent alone")
    args = parser.parse_args()
    if args.part in ("agent", "both"):
        part_agent(args.seconds, install=not args.no_exporter)
    if args.part in ("console", "both"):
        part_console(args.seconds)


if __name__ == "__main__":
    main()
