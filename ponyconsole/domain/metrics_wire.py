"""NodeMetrics as the agent serves them (JSON) and as the console reads them back.

The agent's ``/v1/metrics`` body is ``metrics_to_json(m)``; the console turns
it back with ``metrics_from_json``, which refuses (``ValueError``) anything
malformed instead of showing made-up figures.
"""

from __future__ import annotations

from typing import Any

from ponyconsole.domain.models import NodeMetrics, PowerSource

WIRE_VERSION = 1


def metrics_to_json(m: NodeMetrics) -> dict[str, Any]:
    return {
        "version": WIRE_VERSION,
        "node": m.node,
        "sampled_at": m.sampled_at,
        "cpu_percent": m.cpu_percent,
        "per_core": list(m.per_core),
        "mem_used": m.mem_used,
        "mem_total": m.mem_total,
        "swap_used": m.swap_used,
        "swap_total": m.swap_total,
        "swap_in_per_s": m.swap_in_per_s,
        "swap_out_per_s": m.swap_out_per_s,
        "load": list(m.load),
        "temperature_c": m.temperature_c,
        "watts": m.watts,
        "power_source": m.power_source.value if m.power_source else None,
        "energy_joules": m.energy_joules,
        "power_note": m.power_note,
    }


def _num(data: dict[str, Any], key: str, optional: bool = False) -> float | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}: not a number: {value!r}")
    return float(value)


def _req(data: dict[str, Any], key: str) -> float:
    value = _num(data, key)
    assert value is not None
    return value


def metrics_from_json(data: object) -> NodeMetrics:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("version") != WIRE_VERSION:
        raise ValueError(f"unknown metrics version {data.get('version')!r}")
    per_core = data.get("per_core") or []
    load = data.get("load") or [0, 0, 0]
    if not isinstance(per_core, list) or not isinstance(load, list) or len(load) != 3:
        raise ValueError("per_core/load malformed")
    source = data.get("power_source")
    note = data.get("power_note")
    return NodeMetrics(
        sampled_at=_req(data, "sampled_at"),
        cpu_percent=_req(data, "cpu_percent"),
        per_core=tuple(float(c) for c in per_core),
        mem_used=int(_req(data, "mem_used")),
        mem_total=int(_req(data, "mem_total")),
        swap_used=int(_req(data, "swap_used")),
        swap_total=int(_req(data, "swap_total")),
        swap_in_per_s=_req(data, "swap_in_per_s"),
        swap_out_per_s=_req(data, "swap_out_per_s"),
        load=(float(load[0]), float(load[1]), float(load[2])),
        temperature_c=_num(data, "temperature_c", optional=True),
        watts=_num(data, "watts", optional=True),
        power_source=PowerSource(source) if source else None,
        energy_joules=_num(data, "energy_joules", optional=True),
        power_note=str(note) if note else None,
        node=str(data.get("node") or ""),
    )
