"""Run every bench/bench_*.py in turn (what `make bench` calls); non-zero exit if any failed.

.venv/bin/python bench/run_all.py [NAME_FILTER ...]

Each runs with its defaults: bench_cluster_cost.py runs its small scenario (6 ponies,
200 Jobs, k9s beside the console; `make k9s` builds k9s); its 300-node scenario runs only
when asked: `bench/bench_cluster_cost.py --scenario large`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(word in s.stem for word in argv)]
    failed = []
    for script in scripts:
        print(f"=== {script.name} ===", flush=True)
        t0 = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        took = time.monotonic() - t0
        print(f"=== {script.name}: exit {code} after {took:.0f} s ===\n", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    print(f"all {len(scripts)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
