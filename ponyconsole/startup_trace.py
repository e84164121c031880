"""Start-up milestones for benchmarks: appended to the file ``PONYCONSOLE_STARTUP_TRACE`` names.

Each line is ``<epoch seconds> <thread> <milestone>``; without the variable ``mark``
does nothing. ``bench/bench_cluster_cost.py`` prints the split of the first paint
(imports, lists, conversion, the first frames) from it.
"""

from __future__ import annotations

import os
import threading
import time

_PATH = os.environ.get("PONYCONSOLE_STARTUP_TRACE")


def mark(milestone: str) -> None:
    if _PATH:
        with open(_PATH, "a", encoding="utf-8") as out:
            out.write(f"{time.time():.4f} {threading.current_thread().name} {milestone}\n")
