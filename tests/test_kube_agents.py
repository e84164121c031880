"""Real node agents on the ponies' InternalIPs, read by the console on the REAL test cluster.

Six real ``ponyconsole agent`` processes on 127.0.0.11-16 (the InternalIPs the
test cluster gives its ponies), one port for all; the console is opened the way
a user opens it (``--kubeconfig ... --agent-port``). A kill -9 of one agent
shows on its tile within seconds while the others keep updating; a new agent
brings it back. ``p`` sends a magic packet that a UDP listener receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
from kubernetes import client

from cluster.ponies import PONIES as PONY_ADDRESSES
from cluster.ponies import pony_node
from cluster.ponycluster import PonyCluster
from ponyconsole.ui.screens.confirm import Confirm
from tests.agent_support import AgentProcess, free_port, start_agent
from tests.test_ui_cluster import laid_out, tile_text
from tests.test_ui_cluster_real import PONIES, console, notes_of, tile, until

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]


async def start_agents(port: int) -> dict[str, AgentProcess]:
    started = await asyncio.gather(
        *(asyncio.to_thread(start_agent, name, ip, port) for name, ip, _ in PONY_ADDRESSES)
    )
    return {agent.node: agent for agent in started}


def sampled(app: object, name: str) -> float:
    node = tile(app, name).node  # type: ignore[arg-type]
    return node.metrics.sampled_at if node is not None and node.metrics is not None else 0.0


async def test_each_tile_shows_its_own_agent_and_a_killed_agent_is_unreachable_then_back(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    port = free_port("127.0.0.11")
    agents = await start_agents(port)
    app, backend = console(kube_cluster, kube_namespace, "--agent-port", str(port))
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: laid_out(app, 6), 15, "six laid-out tiles")
            for name in PONIES:

                def figures(n: str = name) -> bool:
                    node = tile(app, n).node
                    return node is not None and node.metrics is not None

                await until(pilot, figures, 15, f"{name}'s agent figures")
                node = tile(app, name).node
                assert node is not None and node.metrics is not None
                assert node.metrics.node == name  # this tile's own agent, not another's
                assert node.agent_problem is None and node.has_agent
                text = tile_text(tile(app, name))
                assert "CPU" in text and "MEM" in text and "SWP" in text and " W " in text
            sources = {s.name: s for s in backend.snapshot().sources}
            assert all(sources[f"agent:{n}"].connected for n in PONIES)

            agents["rarity"].kill()
            killed = time.monotonic()
            await until(
                pilot,
                lambda: "agent unreachable since" in tile_text(tile(app, "rarity")),
                8,
                "rarity unreachable on its tile",
            )
            assert time.monotonic() - killed < 5
            text = tile_text(tile(app, "rarity"))
            assert "stale" in text and "CPU" in text  # the last figures, marked stale
            assert tile(app, "rarity").node.metrics is not None  # type: ignore[union-attr]
            # one dead agent is not a disconnected console, and the others go on
            assert "disconnected" not in app.status.render().plain
            assert not app.ponies_stale.display
            before = {n: sampled(app, n) for n in PONIES if n != "rarity"}
            await pilot.pause(2.5)
            for name, at in before.items():
                assert sampled(app, name) > at, f"{name} stopped updating"
            assert app.check_action("cordon", ()) is True  # actions are not refused

            agents["rarity"] = await asyncio.to_thread(start_agent, "rarity", "127.0.0.16", port)
            await until(
                pilot,
                lambda: "unreachable" not in tile_text(tile(app, "rarity")),
                10,
                "rarity back",
            )
            at = sampled(app, "rarity")
            await until(pilot, lambda: sampled(app, "rarity") > at, 5, "rarity live again")
    finally:
        for agent in agents.values():
            agent.stop()


async def test_a_node_without_an_agent_says_no_agent(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    port = free_port("127.0.0.11")  # nothing listens there
    app, _ = console(kube_cluster, kube_namespace, "--agent-port", str(port))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: laid_out(app, 6), 15, "six laid-out tiles")
        for name in PONIES:
            await until(pilot, lambda n=name: "no agent" in tile_text(tile(app, n)), 10, f"{name}")
        assert "disconnected" not in app.status.render().plain


async def test_p_sends_a_magic_packet_that_a_listener_receives_byte_for_byte(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    udp_port = listener.getsockname()[1]
    app, _ = console(
        kube_cluster, kube_namespace, "--no-agents", "--wol-broadcast", f"127.0.0.1:{udp_port}"
    )
    mac = next(m for n, _, m in PONY_ADDRESSES if n == "fluttershy")
    try:
        notes = notes_of(app)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: laid_out(app, 6), 15, "six laid-out tiles")
            await until(pilot, lambda: app.check_action("wake", ()) is True, 10, "permissions")
            tile(app, "fluttershy").focus()
            await pilot.pause()
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, Confirm), 10, "the confirmation")
            await pilot.press("y")
            packet, _ = await asyncio.to_thread(listener.recvfrom, 1024)
            assert packet == b"\xff" * 6 + bytes.fromhex(mac.replace(":", "")) * 16
            await until(pilot, lambda: any("Waking fluttershy" in n for n in notes), 5)
            assert any(f"magic packet for {mac} sent to 127.0.0.1:{udp_port}" in n for n in notes)

            # a pony without the annotation: said so, nothing sent
            core = client.CoreV1Api(kube_cluster.api_client())
            core.patch_node("rarity", {"metadata": {"annotations": {"ponyconsole/mac": None}}})
            await until(pilot, lambda: tile(app, "rarity").node.mac is None, 10, "mac gone")  # type: ignore[union-attr]
            tile(app, "rarity").focus()
            await pilot.pause()
            await pilot.press("p")
            await until(pilot, lambda: any("no MAC address" in n for n in notes), 5)
            assert not isinstance(app.screen, Confirm)
    finally:
        listener.close()
        core = client.CoreV1Api(kube_cluster.api_client())
        rarity_mac = next(m for n, _, m in PONY_ADDRESSES if n == "rarity")
        core.patch_node("rarity", {"metadata": {"annotations": {"ponyconsole/mac": rarity_mac}}})


async def test_a_pony_that_joins_is_read_at_its_address_and_one_that_leaves_is_forgotten(
    kube_cluster: PonyCluster, kube_namespace: str
) -> None:
    """Each Node watch event starts or stops that node's poller alone (no walk of all nodes):
    a node created through the API gets its agent read at its InternalIP; deleted, its tile,
    its poller and its agent source are gone."""
    address = "127.0.0.21"
    port = free_port(address)
    agent = await asyncio.to_thread(start_agent, "derpy", address, port)
    core = client.CoreV1Api(kube_cluster.api_client())
    app, backend = console(kube_cluster, kube_namespace, "--agent-port", str(port))
    poller = backend.agents.poller  # type: ignore[attr-defined]
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: laid_out(app, 6), 15, "six laid-out tiles")
            others = {name: poller.address_of(name) for name in PONIES}
            core.create_node(pony_node("derpy", address, "02:00:00:00:00:21"))
            created = time.monotonic()
            await until(pilot, lambda: any(t.node_name == "derpy" for t in app.tiles()), 5, "tile")
            appeared = time.monotonic() - created

            def derpy_read() -> bool:
                found = [t for t in app.tiles() if t.node_name == "derpy"]
                return bool(found) and found[0].node is not None and found[0].node.has_agent

            await until(pilot, derpy_read, 15, "derpy's tile with its agent's figures")
            assert poller.address_of("derpy") == address
            assert {name: poller.address_of(name) for name in PONIES} == others

            core.delete_node("derpy")
            deleted = time.monotonic()
            await until(
                pilot,
                lambda: all(t.node_name != "derpy" for t in app.tiles()),
                10,
                "derpy's tile gone",
            )
            vanished = time.monotonic() - deleted
            assert appeared < 1.0 and vanished < 1.0, (appeared, vanished)  # from the watch
            assert "derpy" not in poller.tracked
            assert "agent:derpy" not in {s.name for s in backend.snapshot().sources}
            assert {name: poller.address_of(name) for name in PONIES} == others
    finally:
        agent.stop()
        with contextlib.suppress(client.ApiException):
            core.delete_node("derpy")
