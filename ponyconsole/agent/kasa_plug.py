"""Watts from a TP-Link Kasa (or Tapo) smart plug's energy meter, through python-kasa.

python-kasa is asyncio; the agent's sampler is a plain thread that must never
wait on a plug. So the plug has its own thread and event loop: it connects
once (``Device.connect``, which also runs the first full ``update()``), then
asks only the energy module each interval (``Energy.get_status()``: one small
``emeter.get_realtime`` request on the legacy protocol, rather than a full
``update()`` that also reads schedules, cloud and time). The sampler takes
the latest reading if it is recent (``reading()``), else says why not
(``problem``) and falls back to RAPL or the estimate.

Legacy plugs (HS110, KP115 on old firmware) speak the XOR protocol on TCP 9999
and need no account. Newer KLAP firmware needs the TP-Link account: given as
``KASA_USERNAME``/``KASA_PASSWORD`` (python-kasa's own names) or a file, found
by UDP discovery (``Discover.discover_single``). The credentials are never
printed, logged or served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEGACY_PORT = 9999
# Polls while the plug does not answer back off to this (seconds), so a plug that
# is back is read again within a few seconds without hammering one that is gone.
MAX_BACKOFF = 5.0


@dataclass(frozen=True, slots=True)
class PlugReading:
    at: float  # time.monotonic() of the answer
    watts: float
    total_kwh: float | None  # the plug's own counter, when its firmware has one


@dataclass(frozen=True, slots=True)
class PlugAccount:
    username: str
    password: str

    def __repr__(self) -> str:  # never shown, not even in a traceback's locals
        return "PlugAccount(<hidden>)"


def parse_plug(text: str) -> tuple[str, int | None]:
    """``host`` or ``host:port`` (``[v6]:port``) as (host, port or None)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        raise ValueError(f"no host in {text!r}")
    if port and not port.isdigit():
        raise ValueError(f"port {port!r} of {text!r} is not a number")
    return host, int(port) if port else None


def plug_for_node(path: Path, node: str) -> str | None:
    """The plug of ``node`` in a file of ``node host[:port]`` lines (``#`` comments)."""
    for line in path.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] == node:
            return words[1]
    return None


def load_account(path: str | None, env: dict[str, str] | None = None) -> PlugAccount | None:
    """The TP-Link account for KLAP plugs: a file (username, then password, one a line) or
    a folder with ``username`` and ``password`` files (a Kubernetes Secret), else the
    environment (KASA_USERNAME, KASA_PASSWORD). None when none is given."""
    env = dict(os.environ) if env is None else env
    if path:
        where = Path(path)
        if where.is_dir():  # an optional Secret that is not there mounts as an empty folder
            if not (where / "username").exists() and not (where / "password").exists():
                return None
            user = (where / "username").read_text().strip()
            password = (where / "password").read_text().strip()
        else:
            lines = where.read_text().splitlines()
            if len(lines) < 2:
                raise ValueError(f"{path}: want the username on line 1 and the password on 2")
            user, password = lines[0].strip(), lines[1].strip()
        return PlugAccount(user, password)
    if env.get("KASA_USERNAME") and env.get("KASA_PASSWORD"):
        return PlugAccount(env["KASA_USERNAME"], env["KASA_PASSWORD"])
    return None


class KasaPlug:
    """Reads one plug in its own thread; ``reading()`` and ``problem`` never block."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        account: PlugAccount | None = None,
        interval: float = 1.0,
        timeout: float = 3.0,
    ) -> None:
        self.host = host
        self.port = port
        self.interval = interval
        self.timeout = timeout
        self._account = account
        self._latest: PlugReading | None = None
        # why there is no recent reading, for the user
        self.problem: str | None = f"smart plug {self.where}: no answer yet"
        self.model: str | None = None
        self._failing_since: float | None = None
        self._stop = threading.Event()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="kasa-plug", daemon=True)
        # python-kasa logs every failed query at WARNING with a traceback; the agent says
        # it once, in its own words (``problem``)
        logging.getLogger("kasa").setLevel(logging.CRITICAL)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port or LEGACY_PORT}"

    @property
    def max_age(self) -> float:
        """A reading older than this is not shown as the plug's (the plug is slow or gone)."""
        return 3 * self.interval + 2.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
        self._thread.join(timeout=self.timeout + 2)

    def reading(self, now: float | None = None) -> PlugReading | None:
        latest = self._latest
        now = time.monotonic() if now is None else now
        if latest is None or now - latest.at > self.max_age:
            return None
        return latest

    def wait_first(self, timeout: float) -> bool:
        """Wait (at start-up) until the plug answered or said why not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._latest is not None or self._failing_since is not None:
                return True
            time.sleep(0.05)
        return False

    # -- the plug's thread ----------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        device: Any = None
        failures = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if device is None:
                    device = await self._connect()
                status = await _energy(device).get_status()
                if status.power is None:
                    raise ValueError("the plug's energy meter gave no power figure")
                self._latest = PlugReading(time.monotonic(), float(status.power), status.total)
                self.problem = None
                self._failing_since = None
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a plug that fails must never stop the agent
                failures += 1
                self._failed(error)
                if device is not None and failures >= 3:  # connect afresh, as at start
                    with contextlib.suppress(Exception):
                        await device.disconnect()
                    device = None
            pause = self.interval if failures == 0 else min(MAX_BACKOFF, self.interval * failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), max(0.05, pause - (time.monotonic() - started))
                )
        if device is not None:
            with contextlib.suppress(Exception):
                await device.disconnect()

    async def _connect(self) -> Any:
        from kasa import Credentials, Device, DeviceConfig, Discover

        timeout = max(1, math.ceil(self.timeout))
        if self._account is None:  # legacy XOR protocol, straight to host:9999
            config = DeviceConfig(host=self.host, port_override=self.port, timeout=timeout)
            device = await Device.connect(config=config)
        else:  # KLAP firmware: discovery tells which protocol, the account logs in
            credentials = Credentials(self._account.username, self._account.password)
            found = await Discover.discover_single(
                self.host,
                port=self.port,
                timeout=timeout,
                discovery_timeout=timeout,
                credentials=credentials,
            )
            if found is None:
                raise ConnectionError(f"no answer to discovery from {self.host}")
            device = found
            await device.update()
        _energy(device)  # a plug without an energy meter (HS100) says so now
        self.model = str(getattr(device, "model", "") or "") or None
        return device

    def _failed(self, error: BaseException) -> None:
        if self._failing_since is None:
            self._failing_since = time.time()
        since = time.strftime("%H:%M:%S", time.localtime(self._failing_since))
        why = _root_cause(error)
        self.problem = f"smart plug {self.where} not answering since {since}: {why}"


def _energy(device: Any) -> Any:
    from kasa import Module

    energy = device.modules.get(Module.Energy)
    if energy is None:
        model = getattr(device, "model", "the device")
        raise ValueError(f"{model} has no energy meter (an HS100, not an HS110?)")
    return energy


def _root_cause(error: BaseException) -> str:
    """python-kasa wraps "connection refused" in "Communication error on emeter:get_realtime":
    say both, the cause being what a user can act on."""
    words = str(error) or type(error).__name__
    cause = error.__cause__ or error.__context__
    while cause is not None and (cause.__cause__ or cause.__context__) is not None:
        cause = cause.__cause__ or cause.__context__
    if cause is not None and str(cause) and str(cause) not in words:
        words = f"{words}: {cause}"
    return words
