"""How long `ponyconsole jobs --json` takes on queues of 200 and 5,000 jobs, side by side
with `python -c pass` (the floor: an interpreter start) and `ponyconsole cordon`.

Each command is a fresh process, run in rounds that alternate the commands so
load on this shared machine hits them alike; the median and best wall times are
reported, and the ratio to `python -c pass`. Aim: <= 0.3 s for `jobs --json`.

    .venv/bin/python bench/bench_cli_latency.py [--rounds 15] [--jobs 200 5000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_console_cost import prepare_queue

BIN = Path(sys.executable).parent
TARGET = 0.3  # s


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--jobs", type=int, nargs="+", default=[200, 5000])
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PONYCONSOLE_")}
    env["PONYCONSOLE_CONFIG"] = os.devnull
    roots = []
    commands: dict[str, list[str]] = {"python -c pass": [sys.executable, "-c", "pass"]}
    try:
        for count in args.jobs:
            root = Path(tempfile.mkdtemp(prefix=f"ponybench-cli-{count}-"))
            roots.append(root)
            settings = prepare_queue(root, count)
            options = ["--data-dir", str(settings.data_dir), "--pony", settings.pony_name]
            ponyconsole = str(BIN / "ponyconsole")
            commands[f"jobs --json, {count} jobs"] = [ponyconsole, "jobs", "--json", *options]
            commands[f"jobs (table), {count} jobs"] = [ponyconsole, "jobs", *options]
            commands[f"cordon, {count} jobs"] = [ponyconsole, "cordon", *options]
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm the page cache once
            timed(argv, env)
        for _ in range(args.rounds):
            for name, argv in commands.items():
                times[name].append(timed(argv, env))
    finally:
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)

    floor = statistics.median(times["python -c pass"])
    print()
    print(
        f"CLI latency, {args.rounds} alternating rounds, fresh process each "
        f"(Python {sys.version.split()[0]})"
    )
    header = f"{'':<28}{'median s':>10}{'best s':>9}{'x python -c pass':>18}"
    print(header)
    print("-" * len(header))
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<28}{median:>10.3f}{min(samples):>9.3f}{median / floor:>17.1f}x")
    print("-" * len(header))
    verdicts = []
    for count in args.jobs:
        median = statistics.median(times[f"jobs --json, {count} jobs"])
        verdicts.append(f"{count} jobs {'met' if median <= TARGET else 'MISSED'}")
    print(f"target: jobs --json <= {TARGET:g} s: " + ", ".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
