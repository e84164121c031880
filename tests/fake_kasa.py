"""A fake Kasa smart plug speaking the legacy TP-Link protocol, answering from a recording.

The protocol of HS100/HS110-era plugs: TCP (port 9999 on a real plug), each
message a 4-byte big-endian length then the JSON "encrypted" by an autokey XOR
starting at 171 (each cipher byte is the key of the next). A request is
``{"module": {"method": {params}}, ...}``; the answer has the same shape.
Modules the plug lacks answer ``{"err_code": -1, "err_msg": "module not
support"}``, methods ``-2 "member not support"``, as real firmware does, so the
real python-kasa client sees what it sees on a real plug.

Answers come from a recording of a real plug: python-kasa's test fixture
``tests/fixtures/iot/HS110(EU)_1.0_1.2.5.json`` (python-kasa/python-kasa, commit
8cb5c2e1), copied unchanged to ``tests/fixtures/kasa/``. ``--total`` replaces
its kWh counter (a plug that rebooted starts from a lower one).

Run: ``python -m tests.fake_kasa --address 127.0.0.1 --port 0 [--total KWH]``;
it prints ``listening on ADDRESS:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HS110 = Path(__file__).parent / "fixtures" / "kasa" / "HS110(EU)_1.0_1.2.5.json"
KEY = 171


def xor_encrypt(plain: bytes) -> bytes:
    key, out = KEY, bytearray()
    for byte in plain:
        key ^= byte
        out.append(key)
    return bytes(out)


def xor_decrypt(cipher: bytes) -> bytes:
    key, out = KEY, bytearray()
    for byte in cipher:
        out.append(key ^ byte)
        key = byte
    return bytes(out)


def answer(recording: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {}
    for module, methods in request.items():
        known = recording.get(module)
        if not isinstance(known, dict) or not isinstance(methods, dict):
            reply[module] = {"err_code": -1, "err_msg": "module not support"}
            continue
        reply[module] = {
            method: known.get(method, {"err_code": -2, "err_msg": "member not support"})
            for method in methods
        }
    return reply


async def serve_client(
    recording: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        while True:
            (length,) = struct.unpack(">I", await reader.readexactly(4))
            request = json.loads(xor_decrypt(await reader.readexactly(length)))
            body = json.dumps(answer(recording, request)).encode()
            writer.write(struct.pack(">I", len(body)) + xor_encrypt(body))
            await writer.drain()
    writer.close()


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--fixture", type=Path, default=HS110)
    parser.add_argument("--total", type=float, help="replace the recorded kWh counter")
    args = parser.parse_args(argv)
    recording = json.loads(args.fixture.read_text())
    if args.total is not None:
        recording = copy.deepcopy(recording)
        recording["emeter"]["get_realtime"]["total"] = args.total

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_client(recording, reader, writer)

    server = await asyncio.start_server(client, args.address, args.port)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


@dataclass
class FakePlug:
    """A fake plug in its own process: ``kill()`` is a plug pulled from the wall."""

    address: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def where(self) -> str:
        return f"{self.address}:{self.port}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def start_fake_plug(
    address: str = "127.0.0.1", port: int = 0, total: float | None = None, timeout: float = 20
) -> FakePlug:
    args = [sys.executable, "-m", "tests.fake_kasa", "--address", address, "--port", str(port)]
    if total is not None:
        args += ["--total", str(total)]
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[1],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                line = process.stdout.readline().decode()
                if line.startswith("listening on "):
                    return FakePlug(address, int(line.split()[-1].rsplit(":", 1)[1]), process)
            if process.poll() is not None:
                raise AssertionError(f"the fake plug exited with {process.returncode}")
    except BaseException:
        process.kill()  # never left behind
        raise
    process.kill()
    raise AssertionError(f"the fake plug did not listen within {timeout} s")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(sys.argv[1:]))
