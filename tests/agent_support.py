"""Real `ponyconsole agent` processes on loopback addresses, for tests and benches."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@dataclass
class AgentProcess:
    node: str
    address: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def metrics(self) -> dict[str, object]:
        status, body = self.get("/v1/metrics")
        assert status == 200, body
        return json.loads(body)  # type: ignore[no-any-return]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_agent(
    node: str, address: str, port: int | None = None, *extra: str, timeout: float = 30.0
) -> AgentProcess:
    """Start a real agent and wait (with a deadline) until /healthz answers 200."""
    port = port or free_port(address)
    args = [sys.executable, "-m", "ponyconsole.cli", "agent", "--address", address]
    args += ["--port", str(port), "--node", node, *extra]
    process = subprocess.Popen(
        args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    agent = AgentProcess(node, address, port, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"agent {node} exited with {process.returncode}: {err}")
        try:
            if agent.get("/healthz", timeout=1)[0] == 200:
                return agent
        except OSError:
            pass
        time.sleep(0.1)
    agent.kill()
    raise AssertionError(f"agent {node} on {address}:{port} not healthy after {timeout} s")
