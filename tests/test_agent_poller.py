"""The console's agent poller against real agent processes: figures, a dead agent, recovery."""

from __future__ import annotations

import asyncio
import time

import pytest

from ponyconsole.backends.agents import AgentPoller
from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.domain.models import NodeMetrics
from tests.agent_support import free_port, start_agent

pytestmark = pytest.mark.timeout(120)


async def wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_each_agent_is_polled_on_its_own_and_a_dead_one_never_delays_the_others() -> None:
    port = free_port("127.0.0.21")
    nodes = {"rainbow-dash": "127.0.0.21", "pinkie-pie": "127.0.0.22", "rarity": "127.0.0.23"}
    agents = {n: await asyncio.to_thread(start_agent, n, ip, port) for n, ip in nodes.items()}
    seen: dict[str, list[NodeMetrics]] = {n: [] for n in nodes}
    status: dict[str, SourceStatus] = {}
    poller = AgentPoller(
        lambda node, m: seen[node].append(m),
        lambda node, s: status.__setitem__(node, s),
        port=port,
        interval=0.3,
    )
    try:
        for node, ip in nodes.items():
            poller.track(node, ip)
        await wait_for(lambda: all(len(v) >= 2 for v in seen.values()), 20, "figures from all")
        assert all(m.node == node for node, ms in seen.items() for m in ms)
        assert all(status[n].connected for n in nodes)

        agents["pinkie-pie"].kill()
        await wait_for(lambda: not status["pinkie-pie"].connected, 10, "pinkie-pie unreachable")
        assert "agent unreachable since" in (status["pinkie-pie"].error or "")
        before = {n: len(seen[n]) for n in ("rainbow-dash", "rarity")}
        await asyncio.sleep(1.5)
        for node in ("rainbow-dash", "rarity"):  # the others kept their pace (0.3 s)
            assert len(seen[node]) - before[node] >= 3, node

        agents["pinkie-pie"] = await asyncio.to_thread(
            start_agent, "pinkie-pie", "127.0.0.22", port
        )
        await wait_for(lambda: status["pinkie-pie"].connected, 15, "pinkie-pie back")

        poller.untrack("rarity")
        count = len(seen["rarity"])
        await asyncio.sleep(1.0)
        assert len(seen["rarity"]) <= count + 1  # at most one request was in flight
    finally:
        await poller.close()
        for agent in agents.values():
            agent.stop()


async def test_a_node_without_an_address_is_said_so() -> None:
    status: dict[str, SourceStatus] = {}
    poller = AgentPoller(lambda n, m: None, lambda n, s: status.__setitem__(n, s))
    poller.track("applejack", None)
    assert status["applejack"].error == "no InternalIP"
    await poller.close()


def test_a_failing_agent_is_asked_less_and_less_often() -> None:
    from ponyconsole.backends.agents import NEVER_CAP, RETRY_CAP, retry_delay

    for answered, cap in ((True, RETRY_CAP), (False, NEVER_CAP)):
        delays = [retry_delay(1.0, n, answered) for n in range(1, 12)]
        assert all(1.0 <= d <= cap for d in delays)
        assert delays[-1] >= 0.75 * cap  # reaches its cap
        assert retry_delay(1.0, 3, answered) >= 3.0  # doubles: 4 s less jitter
    # 300 nodes without an agent: at most ~13 requests a second once backed off
    assert 300 / (0.75 * NEVER_CAP) < 14


async def test_held_polls_ask_no_agent_until_the_hold_ends() -> None:
    """The console holds the polls over its first paint: no request before, then as usual."""
    port = free_port("127.0.0.24")
    agent = await asyncio.to_thread(start_agent, "fluttershy", "127.0.0.24", port)
    answered: list[float] = []
    poller = AgentPoller(
        lambda n, m: answered.append(time.monotonic()), lambda n, s: None, port=port
    )
    try:
        poller.hold(1.5)
        held_at = time.monotonic()
        poller.track("fluttershy", "127.0.0.24")
        await asyncio.sleep(1.2)
        assert answered == []
        await wait_for(lambda: bool(answered), 10, "the first answer after the hold")
        assert answered[0] - held_at >= 1.5
    finally:
        await poller.close()
        agent.stop()
