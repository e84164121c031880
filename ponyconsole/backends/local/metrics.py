"""This machine's health as NodeMetrics: psutil figures plus watts (RAPL, else an estimate).

The arithmetic (rates from counter deltas, RAPL wraparound, the load-based
estimate) lives in pure functions so it is tested without the hardware.
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from ponyconsole.domain.models import NodeMetrics, PowerSource

RAPL_GLOB = "/sys/class/powercap/intel-rapl:*"


def rate(prev: float | None, cur: float, dt: float) -> float:
    """Per-second rate of a monotonic counter; 0 on the first sample, a reset or no time."""
    if prev is None or dt <= 0 or cur < prev:
        return 0.0
    return (cur - prev) / dt


def energy_delta_uj(prev: int, cur: int, max_range_uj: int) -> int:
    """Energy used between two RAPL readings, across one counter wraparound."""
    if cur >= prev:
        return cur - prev
    if max_range_uj <= 0:
        return 0
    return max_range_uj - prev + cur


def rapl_watts(delta_uj: int, dt: float) -> float | None:
    if dt <= 0:
        return None
    return delta_uj / 1e6 / dt


def estimate_watts(cpu_percent: float, idle_watts: float, max_watts: float) -> float:
    """Linear in CPU load between idle and flat-out: a guess, labelled ESTIMATE."""
    load = min(100.0, max(0.0, cpu_percent)) / 100.0
    return idle_watts + load * (max_watts - idle_watts)


def hottest(temperatures: dict[str, list[object]]) -> float | None:
    """The highest current reading of psutil.sensors_temperatures(), None when none."""
    values = [
        float(t.current)  # type: ignore[attr-defined]
        for entries in temperatures.values()
        for t in entries
        if getattr(t, "current", None) is not None and t.current > 0  # type: ignore[attr-defined]
    ]
    return max(values, default=None)


@dataclass(slots=True)
class _RaplZone:
    energy: Path
    max_range: int
    last: int | None = None


def _rapl_zones(pattern: str = RAPL_GLOB) -> list[_RaplZone]:
    """Package zones only (intel-rapl:N, not the intel-rapl:N:M sub-zones they contain)."""
    zones = []
    for folder in sorted(glob.glob(pattern)):
        if os.path.basename(folder).count(":") != 1:
            continue
        try:
            max_range = int(Path(folder, "max_energy_range_uj").read_text())
            Path(folder, "energy_uj").read_text()  # often root-only since CVE-2020-8694
        except (OSError, ValueError):
            continue
        zones.append(_RaplZone(Path(folder, "energy_uj"), max_range))
    return zones


class MetricsSampler:
    """Keeps the previous counters; ``sample()`` is cheap and never sleeps."""

    def __init__(
        self, idle_watts: float = 6.0, max_watts: float = 28.0, rapl_glob: str = RAPL_GLOB
    ) -> None:
        self.idle_watts = idle_watts
        self.max_watts = max_watts
        self._zones = _rapl_zones(rapl_glob)
        self._last_time: float | None = None
        self._last_sin: int | None = None
        self._last_sout: int | None = None
        psutil.cpu_percent(interval=None)  # prime: the first non-blocking call returns 0
        psutil.cpu_percent(interval=None, percpu=True)
        self._read_rapl(0.0)
        self._last_time = time.monotonic()

    def _read_rapl(self, dt: float) -> float | None:
        if not self._zones:
            return None
        total = 0
        for zone in self._zones:
            try:
                value = int(zone.energy.read_text())
            except (OSError, ValueError):
                self._zones = []  # unreadable now: fall back to the estimate for good
                return None
            if zone.last is not None:
                total += energy_delta_uj(zone.last, value, zone.max_range)
            zone.last = value
        return rapl_watts(total, dt) if dt > 0 else None

    def sample(self, now: float | None = None) -> NodeMetrics:
        now = time.time() if now is None else now
        mono = time.monotonic()
        dt = mono - self._last_time if self._last_time is not None else 0.0
        self._last_time = mono
        cpu = psutil.cpu_percent(interval=None)
        per_core = tuple(psutil.cpu_percent(interval=None, percpu=True))
        mem = psutil.virtual_memory()
        swap = psutil.swap_memory()
        swap_in = rate(self._last_sin, swap.sin, dt)
        swap_out = rate(self._last_sout, swap.sout, dt)
        self._last_sin, self._last_sout = swap.sin, swap.sout
        try:
            load = os.getloadavg()
        except OSError:
            load = (0.0, 0.0, 0.0)
        try:
            temperature = hottest(psutil.sensors_temperatures())  # type: ignore[arg-type]
        except (AttributeError, OSError):
            temperature = None
        watts = self._read_rapl(dt)
        if watts is not None:
            source = PowerSource.RAPL
        else:
            watts = estimate_watts(cpu, self.idle_watts, self.max_watts)
            source = PowerSource.ESTIMATE
        return NodeMetrics(
            sampled_at=now,
            cpu_percent=cpu,
            per_core=per_core,
            mem_used=mem.total - mem.available,
            mem_total=mem.total,
            swap_used=swap.used,
            swap_total=swap.total,
            swap_in_per_s=swap_in,
            swap_out_per_s=swap_out,
            load=(load[0], load[1], load[2]),
            temperature_c=temperature,
            watts=watts,
            power_source=source,
        )
