"""The kube backend's link to the node agents: who is polled, what each said, and Wh per item.

``AgentLink`` keeps one ``AgentPoller`` poller per Node, at the Node's InternalIP
and the configured port: a Node that appears, vanishes or changes address
starts, stops or moves its poller (``sync``). What an agent says lands on the
Node (``decorate``): its latest figures, and while it does not answer
``agent_problem`` ("agent unreachable since 21:30:05") with the last figures
kept (the tile shows them as stale). A Node whose agent never answered shows
"no agent". Each agent's ``SourceStatus`` (``agent:<node>``) is kept apart from
the API sources: a dead agent never makes the console "disconnected".

Energy per item: once its transcode has ended, asked from the agent's history
between the Job's start and end times (``EnergyAsker``: the same figure after a
console restart); while that has no answer, or cannot have one, the node's
cumulative ``energy_joules`` from when the transcode was first seen running
there to when it ended (``EnergyMeter``, in this console's memory only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ponyconsole.backends.agent_energy import EnergyAsker, Span
from ponyconsole.backends.agents import DEFAULT_PORT, AgentPoller, agent_source
from ponyconsole.backends.protocol import SourceStatus
from ponyconsole.domain.models import Job, JobState, Node, NodeMetrics, StageKind

NO_AGENT = "no agent"


@dataclasses.dataclass(slots=True)
class _AgentState:
    metrics: NodeMetrics | None = None
    problem: str | None = None
    answered: bool = False


class AgentLink:
    """Per-node agent state; ``changed(node)`` is called on the loop when a Node must be redone."""

    def __init__(
        self,
        changed: Callable[[str], None],
        status_changed: Callable[[SourceStatus], None],
        port: int = DEFAULT_PORT,
        interval: float = 1.0,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self._changed = changed
        self._status_changed = status_changed
        self._states: dict[str, _AgentState] = {}
        self.sources: dict[str, SourceStatus] = {}
        self.poller = AgentPoller(self._on_metrics, self._on_status, port=port, interval=interval)
        self.meter = EnergyMeter()
        # the backend sets this: an item whose Wh arrived is converted and published again
        self.item_changed: Callable[[str], None] = lambda _item: None
        self.history = EnergyAsker(
            self.poller.session, self.poller.address_of, port, lambda i: self.item_changed(i)
        )

    # -- what the Nodes show ---------------------------------------------------------

    def decorate(self, node: Node) -> Node:
        """The Node as Kubernetes says it, plus what its agent said."""
        if not self.enabled:
            return node
        state = self._states.get(node.name)
        if state is None:
            return dataclasses.replace(node, has_agent=True)  # polling: waiting for figures
        return dataclasses.replace(
            node,
            metrics=state.metrics,
            has_agent=state.answered or state.problem is None,
            agent_problem=state.problem,
        )

    def answering(self, node: str) -> bool:
        """``node``'s agent answered and has not stopped since."""
        state = self._states.get(node)
        return state is not None and state.answered and state.problem is None

    def metrics(self, node: str) -> NodeMetrics | None:
        state = self._states.get(node)
        return None if state is None else state.metrics

    # -- which agents are polled -----------------------------------------------------------

    def sync(self, nodes: dict[str, Node]) -> None:
        """Poll exactly these Nodes, each at its InternalIP (call after every Node change)."""
        if not self.enabled:
            return
        for name in self.poller.tracked - set(nodes):
            self.forget(name)
        for name, node in nodes.items():
            self.poller.track(name, node.internal_ip)

    def node_changed(self, name: str, node: Node | None) -> None:
        """One Node added, changed (``node``) or deleted (None): O(1), for each watch event."""
        if not self.enabled:
            return
        if node is None:
            self.forget(name)
        else:
            self.poller.track(name, node.internal_ip)

    def forget(self, name: str) -> None:
        """Stop polling a Node that is gone; its agent source ends as "node removed"."""
        self.poller.untrack(name)
        self._states.pop(name, None)
        if self.sources.pop(agent_source(name), None) is not None:
            self._status_changed(SourceStatus(agent_source(name), error="node removed"))

    async def close(self) -> None:
        await self.history.close()
        await self.poller.close()

    # -- the poller's callbacks, on the loop -------------------------------------------------

    def _on_metrics(self, node: str, metrics: NodeMetrics) -> None:
        state = self._states.setdefault(node, _AgentState())
        state.metrics = metrics
        state.answered = True
        state.problem = None
        self.meter.reading(node, metrics.energy_joules)
        self._changed(node)

    def _on_status(self, node: str, status: SourceStatus) -> None:
        state = self._states.setdefault(node, _AgentState())
        if status.error is None:
            state.problem = None
            self.history.retry_node(node)
        elif state.answered:
            state.problem = status.error.split(" (", 1)[0]  # "agent unreachable since 21:30:05"
        else:
            state.problem = NO_AGENT
        self.sources[status.name] = status
        self._status_changed(status)
        self._changed(node)


class EnergyMeter:
    """Wh per item from a node's cumulative joules at the transcode's start and end.

    An agent that restarted (its counter went down) is counted from its new
    start: the joules before the restart since the last reading are lost, never
    negative. Readings are taken whenever the node's figures arrive, so at most a
    second of energy is missed at each end.
    """

    def __init__(self) -> None:
        # item -> (node, joules counted so far, the last counter reading)
        self._running: dict[str, tuple[str, float, float | None]] = {}
        self.finished: dict[str, float] = {}  # item -> Wh

    def started(self, item: str, node: str, joules: float | None) -> None:
        """The item's transcode runs on ``node`` (again, after a retry: counted afresh)."""
        if item not in self._running:
            self.finished.pop(item, None)
            self._running[item] = (node, 0.0, joules)

    def reading(self, node: str, joules: float | None) -> None:
        """A new counter reading of ``node``: add it to every item running there."""
        if joules is None:
            return
        for item, (where, total, last) in list(self._running.items()):
            if where != node:
                continue
            if last is not None:
                total += joules - last if joules >= last else joules  # a restart: from 0
            self._running[item] = (where, total, joules)

    def ended(self, item: str) -> float | None:
        """The item finished: its Wh (None if no reading was ever had)."""
        entry = self._running.pop(item, None)
        if entry is None:
            return self.finished.get(item)
        _, total, last = entry
        if last is None:
            return None
        self.finished[item] = total / 3600.0
        return self.finished[item]

    def so_far(self, item: str) -> float | None:
        entry = self._running.get(item)
        if entry is None:
            return self.finished.get(item)
        return None if entry[2] is None else entry[1] / 3600.0

    def running_on(self, item: str) -> str | None:
        entry = self._running.get(item)
        return None if entry is None else entry[0]


def item_energy(link: AgentLink, meter: EnergyMeter, job: Job) -> Job:
    """The item with its Wh: metering starts when its transcode is first seen running on a
    node, and ends when the transcode is no longer running (finished, failed, moved on)."""
    transcoding = job.state is JobState.RUNNING and job.stage == "transcode" and job.node
    where = meter.running_on(job.id)
    if transcoding and where is None:
        metrics = link.metrics(job.node or "")
        meter.started(job.id, job.node or "", None if metrics is None else metrics.energy_joules)
    elif not transcoding and where is not None:
        meter.ended(job.id)
    if transcoding:
        return job  # the figure is shown once the transcode ends (a row does not tick in Wh)
    span = transcode_span(job)
    wh = None
    if span is not None and link.enabled:
        wh = link.history.wh(span)
        if wh is None and not link.history.settled(span) and link.answering(span.node):
            return job  # asked, the answer is a moment away: one figure, not two in a row
    if wh is None:
        wh = meter.finished.get(job.id)
    return job if wh is None else dataclasses.replace(job, energy_wh=wh)


def transcode_span(job: Job) -> Span | None:
    """Where and when the item's transcode ran, once it ended (Kubernetes' own times)."""
    stage = next((s for s in job.stages if s.kind is StageKind.TRANSCODE), None)
    if stage is None or not stage.state.finished or not stage.node:
        return None
    if stage.started_at is None or stage.finished_at is None:
        return None
    return Span(job.id, stage.node, stage.started_at, stage.finished_at)
