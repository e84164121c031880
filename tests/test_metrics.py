"""Metrics: the arithmetic without hardware, and one real sample of this machine."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from ponyconsole.agent.metrics import (
    MetricsSampler,
    energy_delta_uj,
    estimate_watts,
    hottest,
    rapl_watts,
    rate,
)
from ponyconsole.domain.models import PowerSource


def test_rate_from_counter_deltas() -> None:
    assert rate(None, 4096, 1.0) == 0.0  # first sample
    assert rate(1000, 5096, 2.0) == 2048.0
    assert rate(5096, 100, 1.0) == 0.0  # counter reset (reboot of the counter)
    assert rate(10, 20, 0.0) == 0.0


def test_rapl_wraparound() -> None:
    max_range = 262_143_328_850
    assert energy_delta_uj(1_000, 3_000_000, max_range) == 2_999_000
    # wrapped: from near the top of the range past zero
    assert energy_delta_uj(max_range - 1_000_000, 2_000_000, max_range) == 3_000_000
    assert energy_delta_uj(5, 1, 0) == 0  # unknown range: no made-up number
    assert rapl_watts(15_000_000, 1.0) == pytest.approx(15.0)
    assert rapl_watts(15_000_000, 0.0) is None


def test_estimate_from_cpu_load() -> None:
    assert estimate_watts(0, 6, 28) == 6
    assert estimate_watts(50, 6, 28) == 17
    assert estimate_watts(100, 6, 28) == 28
    assert estimate_watts(250, 6, 28) == 28 and estimate_watts(-3, 6, 28) == 6


def test_hottest_sensor() -> None:
    t = SimpleNamespace
    assert hottest({}) is None
    assert (
        hottest({"coretemp": [t(current=41.0), t(current=57.5)], "acpi": [t(current=30)]}) == 57.5
    )


def test_rapl_zones_read_from_sysfs_layout(tmp_path: Path) -> None:
    """A fake powercap tree with the kernel's layout: package zones only, wraparound handled."""
    package = tmp_path / "intel-rapl:0"
    sub = tmp_path / "intel-rapl:0:0"
    for zone, energy in ((package, 999_000_000), (sub, 5)):
        zone.mkdir()
        (zone / "max_energy_range_uj").write_text("1000000000\n")
        (zone / "energy_uj").write_text(f"{energy}\n")
    sampler = MetricsSampler(rapl_glob=str(tmp_path / "intel-rapl:*"))
    time.sleep(0.2)
    (package / "energy_uj").write_text("1000000\n")  # wrapped: 2 J used
    metrics = sampler.sample()
    assert metrics.power_source is PowerSource.RAPL
    assert metrics.watts is not None and 2 / 0.5 < metrics.watts < 2 / 0.1
    (package / "energy_uj").unlink()  # gone/unreadable now: falls back to the estimate
    assert sampler.sample().power_source is PowerSource.ESTIMATE


def test_real_sample_is_sane() -> None:
    sampler = MetricsSampler(idle_watts=6, max_watts=28)
    time.sleep(0.3)
    m = sampler.sample()
    assert 0.0 <= m.cpu_percent <= 100.0
    assert len(m.per_core) == psutil.cpu_count() and all(0 <= c <= 100 for c in m.per_core)
    assert 0 < m.mem_used <= m.mem_total
    assert 0 <= m.swap_used <= max(m.swap_total, 0) or m.swap_total == 0
    assert m.swap_in_per_s >= 0 and m.swap_out_per_s >= 0
    assert all(x >= 0 for x in m.load)
    assert m.temperature_c is None or -20 < m.temperature_c < 130
    assert m.watts is not None and m.power_source is not None
    if m.power_source is PowerSource.ESTIMATE:
        assert 6 <= m.watts <= 28
    assert abs(m.sampled_at - time.time()) < 5
