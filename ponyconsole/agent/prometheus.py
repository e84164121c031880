"""The agent's figures in the Prometheus text format, made by prometheus_client.

Every sample carries ``node`` (the Kubernetes Node name), so the figures join
kube-state-metrics and the API server's own metrics without relabelling;
the power gauge also carries its ``source`` (kasa, rapl, estimate); the energy
counter does not (one series across a change of source).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from ponyconsole.domain.models import NodeMetrics

PREFIX = "ponyconsole_node"


class NodeCollector(Collector):
    """Reads the latest sample when scraped; the agent's sampler thread keeps it fresh."""

    def __init__(self, node: str, latest: Callable[[], NodeMetrics | None]) -> None:
        self.node = node
        self.latest = latest

    def _gauge(self, name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
        family = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=["node", *labels])
        family.add_metric([self.node, *labels.values()], value)
        return family

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        m = self.latest()
        if m is None:
            return
        node = self.node
        yield self._gauge("cpu_percent", "CPU busy, percent of all cores", m.cpu_percent)
        cores = GaugeMetricFamily(
            f"{PREFIX}_cpu_core_percent", "CPU busy per core, percent", labels=["node", "core"]
        )
        for index, value in enumerate(m.per_core):
            cores.add_metric([node, str(index)], value)
        yield cores
        yield self._gauge("memory_used_bytes", "Memory in use (total - available)", m.mem_used)
        yield self._gauge("memory_total_bytes", "Memory installed", m.mem_total)
        yield self._gauge("swap_used_bytes", "Swap in use", m.swap_used)
        yield self._gauge("swap_total_bytes", "Swap configured", m.swap_total)
        yield self._gauge(
            "swap_in_bytes_per_second", "Swapped in from disk, bytes/s", m.swap_in_per_s
        )
        yield self._gauge(
            "swap_out_bytes_per_second", "Swapped out to disk, bytes/s", m.swap_out_per_s
        )
        load = GaugeMetricFamily(f"{PREFIX}_load", "Load average", labels=["node", "period"])
        for period, value in zip(("1m", "5m", "15m"), m.load, strict=True):
            load.add_metric([node, period], value)
        yield load
        if m.temperature_c is not None:
            yield self._gauge("temperature_celsius", "Hottest sensor", m.temperature_c)
        if m.watts is not None and m.power_source is not None:
            source = m.power_source.value
            yield self._gauge("power_watts", "Power drawn", m.watts, source=source)
            if m.energy_joules is not None:
                # No ``source`` label here: a counter that changed labels when a plug stopped
                # answering would start a new series, and rate() would see two half-counters.
                energy = CounterMetricFamily(
                    f"{PREFIX}_energy_joules",
                    "Energy drawn since the agent started (whatever measured it)",
                    labels=["node"],
                )
                energy.add_metric([node], m.energy_joules)
                yield energy


def registry_for(node: str, latest: Callable[[], NodeMetrics | None]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(node, latest))
    return registry
