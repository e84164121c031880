"""The agent's HTTP side: latest figures as JSON, Prometheus text, and a health check.

The console asks ``GET /v1/metrics`` once a second over a kept-alive
connection rather than holding a stream open: a request is stateless, so an
agent restart or a lost connection needs no resynchronisation, it is the same
pull model Prometheus uses, and at ~700 bytes a second per pony it is
cheap (measured in bench/bench_agent_cost.py). The sampler runs in its own
thread; requests only read the latest sample, so a slow client never delays
sampling.

``GET /v1/energy?from=T0&to=T1`` (Unix seconds) answers the joules drawn
between two instants from a bounded history (agent/energy.py), so the
console can work out the Wh of a Job that ended while it was not running.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ponyconsole.agent.energy import EnergyHistory
from ponyconsole.agent.metrics import MetricsSampler
from ponyconsole.agent.prometheus import registry_for
from ponyconsole.domain.metrics_wire import metrics_to_json
from ponyconsole.domain.models import NodeMetrics


class Sampling:
    """Samples every ``interval`` seconds in a daemon thread; keeps the latest."""

    def __init__(
        self, sampler: MetricsSampler, interval: float, history: EnergyHistory | None = None
    ) -> None:
        self.sampler = sampler
        self.interval = interval
        self.history = history or EnergyHistory()
        self.latest: NodeMetrics | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agent-sampler", daemon=True)

    def _take(self) -> None:
        latest = self.sampler.sample()
        self.latest = latest
        if latest.energy_joules is not None:
            self.history.record(latest.sampled_at, latest.energy_joules)

    def start(self) -> None:
        self._take()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._take()
                self.last_error = None
            except Exception as error:  # a sensor that fails must not stop the agent
                self.last_error = f"{type(error).__name__}: {error}"

    def healthy(self) -> bool:
        latest = self.latest
        return latest is not None and time.time() - latest.sampled_at < 5 * self.interval + 2


def handler_for(sampling: Sampling, node: str) -> type[BaseHTTPRequestHandler]:
    registry = registry_for(node, lambda: sampling.latest)

    class AgentHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection per console
        server_version = "ponyconsole-agent"

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            routes: dict[str, Callable[[], tuple[HTTPStatus, bytes, str]]] = {
                "/v1/metrics": self._metrics_json,
                "/metrics": self._prometheus,
                "/healthz": self._health,
                "/v1/energy": self._energy,
            }
            route = routes.get(path)
            if route is None:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
                return
            self._send(*route())

        do_HEAD = do_GET

        def _metrics_json(self) -> tuple[HTTPStatus, bytes, str]:
            latest = sampling.latest
            if latest is None:
                return (
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    b'{"error":"no sample yet"}',
                    "application/json",
                )
            body = json.dumps(metrics_to_json(latest), separators=(",", ":")).encode()
            return HTTPStatus.OK, body, "application/json"

        def _energy(self) -> tuple[HTTPStatus, bytes, str]:
            return energy_answer(sampling, node, self.path.partition("?")[2])

        def _prometheus(self) -> tuple[HTTPStatus, bytes, str]:
            return HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST

        def _health(self) -> tuple[HTTPStatus, bytes, str]:
            if sampling.healthy():
                return HTTPStatus.OK, b"ok\n", "text/plain"
            why = sampling.last_error or "no recent sample"
            return HTTPStatus.SERVICE_UNAVAILABLE, f"stale: {why}\n".encode(), "text/plain"

        def log_message(self, format: str, *args: object) -> None:
            return  # one line per request at 1 Hz per console would drown the journal

    return AgentHandler


def make_server(address: str, port: int, sampling: Sampling, node: str) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((address, port), handler_for(sampling, node))
    server.daemon_threads = True
    return server


def energy_answer(sampling: Sampling, node: str, query: str) -> tuple[HTTPStatus, bytes, str]:
    """Joules between ``from`` and ``to``; ``complete`` when the history covers both ends
    (within two samples: Kubernetes times are whole seconds)."""
    args = parse_qs(query)
    try:
        start, end = float(args["from"][0]), float(args["to"][0])
        if not (start <= end):
            raise ValueError
    except (KeyError, IndexError, ValueError):
        body = b'{"error":"want ?from=T0&to=T1, Unix seconds, T0 <= T1"}'
        return HTTPStatus.BAD_REQUEST, body, "application/json"
    span = sampling.history.between(start, end)
    if span is None:
        body = json.dumps({"error": "no energy history for that time", "node": node}).encode()
        return HTTPStatus.NOT_FOUND, body, "application/json"
    slack = 2 * sampling.interval + 1.0
    answer = {
        "version": 1,
        "node": node,
        "from": start,
        "to": end,
        "joules": span.joules,
        "wh": span.joules / 3600.0,
        "covered_from": span.covered_from,
        "covered_to": span.covered_to,
        "complete": span.covered_from - start <= slack and end - span.covered_to <= slack,
    }
    return HTTPStatus.OK, json.dumps(answer, separators=(",", ":")).encode(), "application/json"
