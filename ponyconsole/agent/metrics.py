"""This machine's health as NodeMetrics: psutil figures plus watts (agent/power.py).

Shared by local mode (the console's own pony) and ``ponyconsole agent`` (each
pony of a cluster). Rates come from counter deltas in pure functions, tested
without the hardware; the cumulative energy (joules) integrates the watts, so
the energy a job took is the difference of two readings, across reconnects.
"""

from __future__ import annotations

import os
import time
from typing import Protocol

import psutil

from ponyconsole.agent.energy import EnergyCounter
from ponyconsole.agent.power import (
    RAPL_GLOB,
    RaplReader,
    energy_delta_uj,
    estimate_watts,
    rapl_watts,
)
from ponyconsole.domain.models import NodeMetrics, PowerSource

__all__ = [
    "MetricsSampler",
    "energy_delta_uj",
    "estimate_watts",
    "hottest",
    "rapl_watts",
    "rate",
]


class PlugReading(Protocol):
    watts: float
    total_kwh: float | None


class Plug(Protocol):
    """An external power meter (a smart plug, agent/kasa_plug.py) read in its own thread."""

    problem: str | None

    def reading(self) -> PlugReading | None: ...


def rate(prev: float | None, cur: float, dt: float) -> float:
    """Per-second rate of a monotonic counter; 0 on the first sample, a reset or no time."""
    if prev is None or dt <= 0 or cur < prev:
        return 0.0
    return (cur - prev) / dt


def hottest(temperatures: dict[str, list[object]]) -> float | None:
    """The highest current reading of psutil.sensors_temperatures(), None when none."""
    values = [
        float(t.current)  # type: ignore[attr-defined]
        for entries in temperatures.values()
        for t in entries
        if getattr(t, "current", None) is not None and t.current > 0  # type: ignore[attr-defined]
    ]
    return max(values, default=None)


class MetricsSampler:
    """Keeps the previous counters; ``sample()`` is cheap and never sleeps."""

    def __init__(
        self,
        idle_watts: float = 6.0,
        max_watts: float = 28.0,
        rapl_glob: str = RAPL_GLOB,
        plug: Plug | None = None,
        node: str = "",
    ) -> None:
        self.idle_watts = idle_watts
        self.max_watts = max_watts
        self.node = node
        self._rapl = RaplReader(rapl_glob)
        self._plug = plug
        self._last_time: float | None = None
        self._last_sin: int | None = None
        self._last_sout: int | None = None
        self.energy = EnergyCounter()
        psutil.cpu_percent(interval=None)  # prime: the first non-blocking call returns 0
        psutil.cpu_percent(interval=None, percpu=True)
        self._rapl.read(0.0)
        self._last_time = time.monotonic()

    @property
    def energy_joules(self) -> float:
        return self.energy.joules

    def _watts(self, cpu: float, dt: float) -> tuple[float, PowerSource, str | None, float | None]:
        """Watts, their source, why a better source is not used, and the plug's kWh counter.

        A plug that stops answering falls back to RAPL or the estimate, labelled as such
        and with the plug's error as the note: the other figures and the joules go on."""
        note = None
        if self._plug is not None:
            reading = self._plug.reading()
            if reading is not None:
                self._rapl.read(dt)  # keep RAPL's counter current for a fallback later
                return reading.watts, PowerSource.KASA, None, reading.total_kwh
            note = self._plug.problem or "smart plug: no answer yet"
        watts = self._rapl.read(dt)
        if watts is not None:
            return watts, PowerSource.RAPL, note, None
        estimate = estimate_watts(cpu, self.idle_watts, self.max_watts)
        return estimate, PowerSource.ESTIMATE, note or self._rapl.note, None

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
        watts, source, note, counter_kwh = self._watts(cpu, dt)
        self.energy.add(watts, dt, counter_kwh)
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
            energy_joules=self.energy.joules,
            power_note=note,
            node=self.node,
        )
