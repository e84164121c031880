"""Watts from the best source there is: a Kasa plug, Intel RAPL, else an estimate.

The arithmetic (RAPL wraparound, the load-based estimate) is in pure
functions, tested without the hardware; the readers keep counters between
samples and say plainly why they cannot read (RAPL's ``energy_uj`` has been
root-only since CVE-2020-8694, November 2020).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

RAPL_GLOB = "/sys/class/powercap/intel-rapl:*"


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


@dataclass(slots=True)
class _RaplZone:
    energy: Path
    max_range: int
    last: int | None = None


class RaplReader:
    """Package zones (intel-rapl:N, not their N:M sub-zones) summed; None with a note when not."""

    def __init__(self, pattern: str = RAPL_GLOB) -> None:
        self.note: str | None = None
        self._zones: list[_RaplZone] = []
        folders = [f for f in sorted(glob.glob(pattern)) if os.path.basename(f).count(":") == 1]
        if not folders:
            self.note = "no RAPL zones (not an Intel/AMD CPU with powercap, or a VM)"
        for folder in folders:
            try:
                max_range = int(Path(folder, "max_energy_range_uj").read_text())
                Path(folder, "energy_uj").read_text()
            except PermissionError:
                self.note = (
                    f"RAPL not readable: {folder}/energy_uj is root-only since CVE-2020-8694;"
                    " run the agent as root or grant read access"
                )
                continue
            except (OSError, ValueError) as error:
                self.note = f"RAPL not readable: {folder}: {error}"
                continue
            self._zones.append(_RaplZone(Path(folder, "energy_uj"), max_range))
        if self._zones:
            self.note = None

    @property
    def available(self) -> bool:
        return bool(self._zones)

    def read(self, dt: float) -> float | None:
        """Watts over the last ``dt`` seconds (None on the first reading or when unreadable)."""
        if not self._zones:
            return None
        total = 0
        for zone in self._zones:
            try:
                value = int(zone.energy.read_text())
            except (OSError, ValueError) as error:
                self._zones = []  # unreadable now: fall back to the estimate for good
                self.note = f"RAPL stopped being readable: {zone.energy}: {error}"
                return None
            if zone.last is not None:
                total += energy_delta_uj(zone.last, value, zone.max_range)
            zone.last = value
        return rapl_watts(total, dt) if dt > 0 else None
