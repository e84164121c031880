"""`ponyconsole agent` as a real process: JSON for the console, Prometheus text, health."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ponyconsole.agent.metrics import MetricsSampler
from ponyconsole.domain.metrics_wire import metrics_from_json, metrics_to_json
from ponyconsole.domain.models import PowerSource
from tests.agent_support import start_agent

pytestmark = pytest.mark.timeout(120)


def test_the_agent_serves_its_figures_as_json_the_console_reads_back() -> None:
    agent = start_agent("rainbow-dash", "127.0.0.12")
    try:
        first = metrics_from_json(agent.metrics())
        assert first.node == "rainbow-dash"
        assert 0 <= first.cpu_percent <= 100 and first.mem_total > 0
        assert first.power_source is PowerSource.ESTIMATE  # no RAPL on this machine's VM
        assert first.power_note  # and it says why
        deadline = time.monotonic() + 10
        while (again := metrics_from_json(agent.metrics())).sampled_at == first.sampled_at:
            assert time.monotonic() < deadline, "the agent stopped sampling"
            time.sleep(0.2)
        assert again.energy_joules is not None and first.energy_joules is not None
        assert again.energy_joules > first.energy_joules  # cumulative, for Wh per job
        assert agent.get("/healthz")[0] == 200
        assert agent.get("/nope")[0] == 404
    finally:
        agent.stop()


def test_prometheus_text_has_every_figure_labelled_with_the_node_name() -> None:
    agent = start_agent("pinkie-pie", "127.0.0.13")
    try:
        status, body = agent.get("/metrics")
    finally:
        agent.stop()
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    expected = {
        "ponyconsole_node_cpu_percent",
        "ponyconsole_node_cpu_core_percent",
        "ponyconsole_node_memory_used_bytes",
        "ponyconsole_node_memory_total_bytes",
        "ponyconsole_node_swap_used_bytes",
        "ponyconsole_node_swap_total_bytes",
        "ponyconsole_node_swap_in_bytes_per_second",
        "ponyconsole_node_swap_out_bytes_per_second",
        "ponyconsole_node_load",
        "ponyconsole_node_power_watts",
        "ponyconsole_node_energy_joules",
    }
    assert expected <= set(families)
    for family in families.values():
        for sample in family.samples:
            assert sample.labels["node"] == "pinkie-pie", sample
    (power,) = families["ponyconsole_node_power_watts"].samples
    assert power.labels["source"] == "estimate" and 6 <= power.value <= 28
    assert families["ponyconsole_node_energy_joules"].type == "counter"


def test_a_killed_agent_stops_answering_and_a_new_one_answers_again() -> None:
    agent = start_agent("fluttershy", "127.0.0.14")
    port = agent.port
    agent.kill()
    with pytest.raises(OSError):
        agent.get("/healthz", timeout=2)
    again = start_agent("fluttershy", "127.0.0.14", port)
    try:
        assert again.get("/healthz")[0] == 200
    finally:
        again.stop()


def test_a_port_in_use_is_one_clear_line_and_exit_1() -> None:
    agent = start_agent("applejack", "127.0.0.15")
    try:
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "ponyconsole.cli",
                "agent",
                "--address",
                "127.0.0.15",
                "--port",
                str(agent.port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        agent.stop()
    assert second.returncode == 1
    assert second.stderr.startswith("ponyconsole agent: cannot listen on 127.0.0.15:")
    assert len(second.stderr.strip().splitlines()) == 1


def _zone(root: Path, name: str, energy: str, max_range: int = 1_000_000_000) -> Path:
    zone = root / name
    zone.mkdir()
    (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    (zone / "energy_uj").write_text(energy)
    return zone


def test_rapl_from_a_sysfs_folder_across_a_wrap_and_then_unreadable(tmp_path: Path) -> None:
    package = _zone(tmp_path, "intel-rapl:0", "999000000\n")
    _zone(tmp_path, "intel-rapl:0:0", "5\n")  # a sub-zone: inside the package, not added
    sampler = MetricsSampler(rapl_glob=str(tmp_path / "intel-rapl:*"), node="rarity")
    time.sleep(0.2)
    (package / "energy_uj").write_text("1000000\n")  # wrapped: 1 J + 1 J = 2 J
    m = sampler.sample()
    assert m.power_source is PowerSource.RAPL and m.power_note is None
    assert m.watts is not None and 2 / 1.0 < m.watts < 2 / 0.2
    (package / "energy_uj").unlink()
    (package / "energy_uj").mkdir()  # unreadable (as root, a mode of 000 would still read)
    after = sampler.sample()
    assert after.power_source is PowerSource.ESTIMATE
    assert after.power_note and "RAPL stopped being readable" in after.power_note


def test_no_rapl_is_an_estimate_labelled_as_one(tmp_path: Path) -> None:
    m = MetricsSampler(6, 28, rapl_glob=str(tmp_path / "none:*")).sample()
    assert m.power_source is PowerSource.ESTIMATE and 6 <= (m.watts or 0) <= 28
    assert m.power_note and "no RAPL zones" in m.power_note


def test_the_wire_form_round_trips_and_refuses_garbage() -> None:
    m = MetricsSampler(node="twilight-sparkle").sample()
    assert metrics_from_json(metrics_to_json(m)) == m
    for bad in ([], {"version": 99}, {**metrics_to_json(m), "cpu_percent": "lots"}):
        with pytest.raises(ValueError):
            metrics_from_json(bad)
