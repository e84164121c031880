"""Wh of a finished transcode, asked from its pony's agent: the same figure after a restart.

The console meters a transcode live from its node's cumulative joules
(``EnergyMeter``), but that is in its memory only. Each agent keeps a bounded
history of (time, joules) (agent/energy.py, 48 h by default), so the Wh of a
finished transcode is asked once (``GET /v1/energy?from=start&to=end``, the
Job's startTime and completionTime): any console, started at any time within
the history, shows the same figure. An answer that does not cover the whole
run (the agent restarted meanwhile, or the run is older than the history) is
no figure rather than a wrong one. A few requests at a time, whatever the
number of finished items, and an agent that does not answer is asked again
when it is back (``retry_node``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when the first question is asked: off the console's start
    import aiohttp

ENERGY_PATH = "/v1/energy"
HISTORY_SECONDS = 48 * 3600.0  # the agent's default --energy-history
CONCURRENCY = 4
RETRY_AFTER = 15.0  # seconds, for an agent that did not answer
# Asked this long after a run's end, so that the agent's history (a sample a second)
# reaches past it: asked at once, the last second or so of the run was missing.
SETTLE = 3.0


@dataclass(frozen=True, slots=True)
class Span:
    item: str
    node: str
    start: float
    end: float


class EnergyAsker:
    """``wh(span)`` says what is known (and asks once when nothing is); ``answered(item)``
    is called on the loop when an answer changed what is known."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        address: Callable[[str], str | None],
        port: int,
        answered: Callable[[str], None],
        timeout: float = 3.0,
    ) -> None:
        self._session = session
        self._address = address
        self.port = port
        self._answered = answered
        self._timeout = timeout
        # a run's times are part of the key: a retried transcode is another question
        self.known: dict[Span, float | None] = {}  # Wh; None: the agent cannot say
        self._asking: set[Span] = set()
        self._waiting: dict[str, set[Span]] = {}  # node -> spans to ask when it answers
        self._not_before: dict[Span, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: dict[Span, asyncio.TimerHandle] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)

    def wh(self, span: Span, now: float | None = None) -> float | None:
        if span in self.known:
            return self.known[span]
        now = time.time() if now is None else now
        if span.end < now - HISTORY_SECONDS:
            self.known[span] = None  # older than any agent's history
            return None
        if span in self._asking or self._not_before.get(span, 0.0) > now:
            return None
        address = self._address(span.node)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # converted outside the backend's loop (a unit test)
            return None
        if address is None:  # no agent polled there yet: asked when it answers
            self._waiting.setdefault(span.node, set()).add(span)
            return None
        if now < span.end + SETTLE:  # the run just ended: asked in a moment
            if span not in self._due:
                self._due[span] = loop.call_later(span.end + SETTLE - now, self._ask_now, span)
            return None
        self._asking.add(span)
        task = loop.create_task(self._ask(span, address))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return None

    def settled(self, span: Span) -> bool:
        """The agent answered this question (with a figure, or that it has none)."""
        return span in self.known

    def retry_node(self, node: str) -> None:
        """``node``'s agent answers (again): ask what waited for it."""
        for span in self._waiting.pop(node, set()):
            self._not_before.pop(span, None)
            self._answered(span.item)  # the item is converted again, and asks

    def _ask_now(self, span: Span) -> None:
        self._due.pop(span, None)
        self._answered(span.item)  # the item is converted again, and asks

    async def close(self) -> None:
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _ask(self, span: Span, address: str) -> None:
        import aiohttp

        url = f"http://{address}:{self.port}{ENERGY_PATH}"
        params = {"from": repr(span.start), "to": repr(span.end)}
        try:
            async with (
                self._slots,
                self._session().get(
                    url, params=params, timeout=aiohttp.ClientTimeout(total=self._timeout)
                ) as r,
            ):
                body = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError):
            self._later(span)
            return
        finally:
            self._asking.discard(span)
        if status == 200 and isinstance(body, dict) and body.get("complete"):
            joules = body.get("joules")
            ok = isinstance(joules, int | float) and not isinstance(joules, bool)
            self.known[span] = max(0.0, float(joules)) / 3600.0 if ok else None
        elif status in (200, 404):  # incomplete, or no history then: nothing to say
            self.known[span] = None
        else:  # the agent is unwell: ask again later
            self._later(span)
            return
        self._answered(span.item)

    def _later(self, span: Span) -> None:
        self._not_before[span] = time.time() + RETRY_AFTER
        self._waiting.setdefault(span.node, set()).add(span)
