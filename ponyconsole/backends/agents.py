"""The console's side of the node agents: one cheap GET a second per pony, each on its own.

Each agent is polled by its own task over a shared keep-alive session, so a
slow or dead agent never delays the others or the UI; a request has a short
timeout. All are asked on the same tick of the clock, so that their answers
make one repaint a second, not one per agent. An agent that does not answer
is asked less and less often (``retry_delay``): up to every 5 s if it
answered before, every 30 s if it never did (300 nodes without agents cost
12.8 % of a core at one request each a second). Each agent is a source with
its own status (``agent:<node>``): synced-at, and the error while it does not
answer. Nodes that appear and vanish start and stop their pollers (``track`` /
``untrack``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when the first agent is polled: ~0.35 s off the console's start
    import aiohttp

from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.domain.metrics_wire import metrics_from_json
from ponyconsole.domain.models import NodeMetrics

DEFAULT_PORT = 9977
METRICS_PATH = "/v1/metrics"


def agent_source(node: str) -> str:
    return f"agent:{node}"


@dataclass(slots=True)
class _Poll:
    address: str
    task: asyncio.Task[None]


class AgentPoller:
    def __init__(
        self,
        on_metrics: Callable[[str, NodeMetrics], None],
        on_status: Callable[[str, SourceStatus], None],
        port: int = DEFAULT_PORT,
        interval: float = 1.0,
        timeout: float = 0.8,
    ) -> None:
        self.on_metrics = on_metrics
        self.on_status = on_status
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self._polls: dict[str, _Poll] = {}
        self._session: aiohttp.ClientSession | None = None
        self._hold_until = 0.0  # monotonic: no agent is asked before (see hold)

    def hold(self, seconds: float) -> None:
        """Ask no agent for ``seconds``: the console's first paint does not wait on
        aiohttp's import (~0.35 s) and 300 connections made on the loop at once
        (measured: they came between the first full list and its paint, +0.37 s)."""
        self._hold_until = max(self._hold_until, time.monotonic() + seconds)

    def address_of(self, node: str) -> str | None:
        poll = self._polls.get(node)
        return None if poll is None else poll.address

    def session(self) -> aiohttp.ClientSession:
        """The keep-alive session the agents are read over (Wh questions use it too)."""
        return self._client()

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            # One connection per agent, kept alive; no proxy from the environment: the
            # agents are on the cluster's own network.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=1, keepalive_timeout=30)
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self._session

    def track(self, node: str, address: str | None) -> None:
        """Poll ``node``'s agent at ``address`` (restarts the poller when the address moved)."""
        current = self._polls.get(node)
        if current is not None and current.address == address:
            return
        self.untrack(node)
        if not address:
            self.on_status(node, SourceStatus(agent_source(node), error="no InternalIP"))
            return
        task = asyncio.create_task(self._poll(node, address), name=f"agent-{node}")
        self._polls[node] = _Poll(address, task)

    def untrack(self, node: str) -> None:
        poll = self._polls.pop(node, None)
        if poll is not None:
            poll.task.cancel()

    @property
    def tracked(self) -> set[str]:
        return set(self._polls)

    async def close(self) -> None:
        polls = list(self._polls.values())
        self._polls.clear()
        for poll in polls:
            poll.task.cancel()
        for poll in polls:
            with contextlib.suppress(asyncio.CancelledError):
                await poll.task
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _poll(self, node: str, address: str) -> None:
        import aiohttp

        url = f"http://{address}:{self.port}{METRICS_PATH}"
        source = agent_source(node)
        held = self._hold_until - time.monotonic()
        if held > 0:
            await asyncio.sleep(held)
        synced: float | None = None
        failing_since: float | None = None
        failures = 0
        while True:
            started = time.monotonic()
            try:
                async with self._client().get(url) as response:
                    if response.status != 200:
                        raise ValueError(f"HTTP {response.status}")
                    metrics = metrics_from_json(await response.json(content_type=None))
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                failures += 1
                if failing_since is None:
                    failing_since = time.time()
                    since = time.strftime("%H:%M:%S", time.localtime(failing_since))
                    why = str(error) or type(error).__name__
                    self.on_status(
                        node,
                        SourceStatus(source, synced, f"agent unreachable since {since} ({why})"),
                    )
            else:
                failures = 0
                first = synced is None
                synced = time.time()
                if first or failing_since is not None:  # transitions only: 300 agents at
                    failing_since = None  # 1 Hz must not mean 300 status events a second
                    self.on_status(node, SourceStatus(source, synced))
                self.on_metrics(node, metrics)
            if failures > 1:  # off the tick: failures make no repaint, only transitions do
                wait = retry_delay(self.interval, failures, answered=synced is not None)
                await asyncio.sleep(max(0.05, wait - (time.monotonic() - started)))
            else:
                await asyncio.sleep(self._to_next_tick(started))

    def _to_next_tick(self, started: float) -> float:
        """Every agent is asked on the same tick of the monotonic clock, so their answers
        land together and the console repaints once a second rather than once per agent:
        measured (bench_console_agents.py), 30 live agents cost the whole console 3.7 % of a
        core instead of 5.0 %; with 6 it stays ~3.1 %, most of it the tiles' repaint."""
        now = time.monotonic()
        delay = self.interval - (now % self.interval)
        if now + delay - started < 0.5 * self.interval:  # the first poll came just before
            delay += self.interval  # a tick: not two polls in a moment
        return max(0.05, delay)


RETRY_CAP = 5.0  # an agent that answered before and stopped: back within seconds of a restart
NEVER_CAP = 30.0  # a node with no agent at all (300 of them must not cost 300 requests a second)


def retry_delay(interval: float, failures: int, answered: bool) -> float:
    """Seconds before asking a failing agent again: doubling from ``interval``, capped,
    with jitter so that hundreds of agentless nodes do not ask all at once."""
    cap = RETRY_CAP if answered else NEVER_CAP
    delay = min(cap, interval * 2 ** (failures - 1))
    return max(interval, delay * random.uniform(0.75, 1.0))
