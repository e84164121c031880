"""The agent's cumulative energy (joules) and a bounded history of it.

``EnergyCounter`` keeps one number that never goes backwards: watts x time
from whatever source answers, corrected to a meter's own counter when there is
one (a Kasa plug's kWh total, 1 Wh steps). Within one run of the meter's
counter (an *epoch*) the figure follows the counter, with the watts filling in
between its steps (a step held, never lowered, when the watts ran ahead of
it). While the plug does not answer, another source's watts are counted; when it
answers again with the same counter, what the plug counted meanwhile beyond
that is added (a stand-in that counted too much is left in the past, not taken
back from the next Job). A counter that went down (the plug rebooted or its
statistics were erased) starts a new epoch from the current figure.

``EnergyHistory`` keeps (time, joules) every ``step`` seconds for
``span`` seconds in two flat arrays (16 bytes a point: 48 h at 5 s is 0.5 MB),
so the console can ask how much energy a Job took between its start and end
times after the console restarted (``GET /v1/energy``).
"""

from __future__ import annotations

import bisect
import threading
from array import array
from dataclasses import dataclass

KWH = 3.6e6  # joules


class EnergyCounter:
    def __init__(self) -> None:
        self.joules = 0.0
        self._epoch: tuple[float, float] | None = None  # (counter kWh, joules) at its start
        self._counter: float | None = None  # the last counter reading (kWh)
        self._since_step = 0.0  # watts x time since the counter last moved (J)
        self._gap = False  # the last figures came from another source

    def add(self, watts: float, dt: float, counter_kwh: float | None = None) -> float:
        """Count ``watts`` over ``dt`` seconds; ``counter_kwh`` is the meter's own total."""
        step = max(0.0, watts) * max(0.0, dt)
        if counter_kwh is None:  # another source this time (the plug did not answer): the
            self.joules += step  # epoch stays, so the plug's counter covers the gap later
            self._gap = self._epoch is not None
            return self.joules
        if self._epoch is None or self._counter is None or counter_kwh < self._counter:
            self.joules += step  # a first reading, or the plug's counter began again
            self._new_epoch(counter_kwh)
            return self.joules
        if counter_kwh > self._counter:
            self._counter = counter_kwh
            self._since_step = 0.0
        else:
            self._since_step += step
        start_kwh, start_joules = self._epoch
        by_counter = start_joules + (self._counter - start_kwh) * KWH + self._since_step
        self.joules = max(self.joules, by_counter)
        if self._gap:  # back after a gap: what the plug counted meanwhile is in now; what
            self._new_epoch(counter_kwh)  # the stand-in over-counted stays in the past
        return self.joules

    def _new_epoch(self, counter_kwh: float) -> None:
        self._epoch = (counter_kwh, self.joules)
        self._counter = counter_kwh
        self._since_step = 0.0
        self._gap = False


@dataclass(frozen=True, slots=True)
class EnergySpan:
    """What the history knows of [start, end]: joules, and which part it covers."""

    start: float
    end: float
    joules: float
    covered_from: float  # start, or later when the history begins after start
    covered_to: float  # end, or earlier when the latest point is before end

    @property
    def complete(self) -> bool:
        return self.covered_from <= self.start and self.covered_to >= self.end


class EnergyHistory:
    """(time, joules) every ``step`` seconds for ``span`` seconds; thread-safe."""

    def __init__(self, span: float = 48 * 3600.0, step: float = 5.0) -> None:
        self.step = step
        self.capacity = max(2, int(span / step) + 1)
        self._times = array("d")
        self._joules = array("d")
        self._start = 0  # the oldest point's index once the ring is full
        self._provisional = False  # the last point is the newest sample, not yet a step on
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._times)

    def record(self, at: float, joules: float) -> None:
        """Keep a point every ``step`` seconds; between them the newest sample is kept as a
        provisional last point, so the history always reaches the latest sample."""
        with self._lock:
            n = len(self._times)
            last = (self._start - 1) % n if n else 0
            if n and at <= self._times[last]:
                return
            if self._provisional:
                self._times[last], self._joules[last] = at, joules
                previous = self._times[(last - 1) % n]
                self._provisional = at - previous < self.step
                return
            settled = not n or at - self._times[last] >= self.step
            if n < self.capacity:
                self._times.append(at)
                self._joules.append(joules)
            else:
                self._times[self._start], self._joules[self._start] = at, joules
                self._start = (self._start + 1) % n
            self._provisional = not settled

    def _ordered(self) -> tuple[list[float], list[float]]:
        with self._lock:
            s = self._start
            times = self._times[s:].tolist() + self._times[:s].tolist()
            joules = self._joules[s:].tolist() + self._joules[:s].tolist()
        return times, joules

    def between(self, start: float, end: float) -> EnergySpan | None:
        """Joules drawn in [start, end], linear between points; None when nothing overlaps."""
        times, joules = self._ordered()
        if not times or end < start or end < times[0] or start > times[-1]:
            return None
        a, b = max(start, times[0]), min(end, times[-1])
        return EnergySpan(start, end, _at(times, joules, b) - _at(times, joules, a), a, b)


def _at(times: list[float], joules: list[float], t: float) -> float:
    i = bisect.bisect_left(times, t)
    if i < len(times) and times[i] == t:
        return joules[i]
    if i == 0:
        return joules[0]
    if i >= len(times):
        return joules[-1]
    t0, t1, j0, j1 = times[i - 1], times[i], joules[i - 1], joules[i]
    return j0 + (j1 - j0) * (t - t0) / (t1 - t0)
