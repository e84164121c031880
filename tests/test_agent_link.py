"""What the kube backend shows of a node's agent (AgentLink.decorate), and its options."""

from __future__ import annotations

import pytest

from ponyconsole.backends.kube.agent_link import AgentLink
from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.domain.models import Node, NodeMetrics
from tests.test_console_startup import parse


async def test_a_node_is_waiting_then_live_then_stale_with_why_then_live_again() -> None:
    changed: list[str] = []
    statuses: list[SourceStatus] = []
    link = AgentLink(changed.append, statuses.append)
    node = Node("rarity", internal_ip="127.0.0.16", has_agent=False)
    assert link.decorate(node).has_agent and link.decorate(node).metrics is None  # waiting
    figures = NodeMetrics(sampled_at=1.0, cpu_percent=12.0, node="rarity")
    link._on_status("rarity", SourceStatus("agent:rarity", 1.0))
    link._on_metrics("rarity", figures)
    live = link.decorate(node)
    assert live.metrics == figures and live.agent_problem is None and live.has_agent
    error = "agent unreachable since 21:30:05 (Connection refused)"
    link._on_status("rarity", SourceStatus("agent:rarity", 1.0, error))
    stale = link.decorate(node)
    assert stale.metrics == figures  # the last figures are kept, marked by the problem
    assert stale.agent_problem == "agent unreachable since 21:30:05" and stale.has_agent
    link._on_metrics("rarity", figures)
    assert link.decorate(node).agent_problem is None
    assert changed.count("rarity") == 4 and [s.connected for s in statuses] == [True, False]
    await link.close()


async def test_a_node_whose_agent_never_answered_says_no_agent_and_disabled_changes_nothing() -> (
    None
):
    link = AgentLink(lambda _n: None, lambda _s: None)
    node = Node("applejack", internal_ip="127.0.0.15", has_agent=False)
    link._on_status("applejack", SourceStatus("agent:applejack", None, "agent unreachable"))
    shown = link.decorate(node)
    assert not shown.has_agent and shown.agent_problem == "no agent" and shown.metrics is None
    off = AgentLink(lambda _n: None, lambda _s: None, enabled=False)
    assert off.decorate(node) is node


def test_console_options_for_agents_and_wake() -> None:
    args = parse("--agent-port", "9100", "--no-agents", "--wol-broadcast", "192.168.1.255:7")
    assert (args.agent_port, args.no_agents, args.wol_broadcast) == (
        9100,
        True,
        ("192.168.1.255", 7),
    )
    assert parse("--wol-broadcast", "10.0.0.255").wol_broadcast == ("10.0.0.255", 9)
    assert parse().wol_broadcast == ("255.255.255.255", 9) and parse().agent_port == 9977
    for bad in (["--agent-port", "0"], ["--wol-broadcast", "host:port"], ["--wol-broadcast", ":9"]):
        with pytest.raises(SystemExit):
            parse(*bad)


async def test_an_items_wh_is_metered_from_first_seen_running_to_its_end() -> None:
    import dataclasses

    from ponyconsole.backends.kube.agent_link import item_energy
    from ponyconsole.domain.models import Job, JobState

    link = AgentLink(lambda _n: None, lambda _s: None)
    meter = link.meter

    def reading(joules: float) -> None:
        link._on_metrics("rarity", NodeMetrics(1.0, 50.0, energy_joules=joules, node="rarity"))

    reading(5000.0)
    job = Job("v1", "/in/a.mkv", "movies", "p", JobState.RUNNING, node="rarity")
    assert item_energy(link, meter, job).energy_wh is None  # shown once it ends
    reading(5000.0 + 1800)
    reading(100.0)  # the agent restarted
    reading(100.0 + 1800)
    done = item_energy(link, meter, dataclasses.replace(job, state=JobState.SUCCEEDED))
    assert done.energy_wh == pytest.approx((1800 + 100 + 1800) / 3600)
    reading(99999.0)  # later readings of the node are not the finished item's
    again = item_energy(link, meter, dataclasses.replace(job, state=JobState.SUCCEEDED))
    assert again.energy_wh == done.energy_wh
    await link.close()
