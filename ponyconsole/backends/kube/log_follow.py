"""The logs of running transcodes, followed on the event loop: no thread per stream.

One aiohttp session (the client's TLS settings, client certificate and token,
taken from the kubernetes ``Configuration``) carries every followed log;
each is a task that waits on its socket like any other I/O of the loop, so
six encodes cost no thread, no lock hand-over and no wake-up per line. At the
live end of a log the task reads about twice a second (``PACE``): what
HandBrake prints meanwhile is taken in one read and given whole to the
domain's streaming parser, of which only the newest update is kept
(``logs.LineDecoder``). The watches run in threads of their own and never
wait behind a log; a log read is a few hundred bytes of parsing on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any
from urllib.parse import quote

import aiohttp

from ponyconsole.backends.kube.logs import READ_TIMEOUT, RECONNECT_SECONDS, LineDecoder
from ponyconsole.domain.models import Progress

PACE = 0.5  # a followed transcode's log is read about twice a second at its live end
LIVE_WAIT = 0.05  # a read that waited this long found no more log already sent
CONNECT_TIMEOUT = 5.0


class LogHttp:
    """GET requests to the API server as the kubernetes client would make them."""

    def __init__(self, configuration: Any) -> None:  # kubernetes.client.Configuration
        self.conf = configuration
        self.host = str(configuration.host).rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext | bool:
        conf = self.conf
        if not self.host.startswith("https"):
            return False
        context = ssl.create_default_context(cafile=conf.ssl_ca_cert or None)
        if conf.cert_file:
            context.load_cert_chain(conf.cert_file, conf.key_file or None)
        if not conf.verify_ssl:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=0)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def headers(self) -> dict[str, str]:
        """The token (refreshed by the client's hook: exec plugins, OIDC) or basic auth."""
        conf = self.conf
        headers = {"Accept": "*/*", "User-Agent": "ponyconsole/logs"}
        token = conf.get_api_key_with_prefix("authorization")
        if token:
            headers["Authorization"] = token
        elif conf.username or conf.password:
            headers["Authorization"] = conf.get_basic_auth_token()
        return headers

    def pod_log(self, namespace: str, pod: str, container: str | None) -> Any:
        """``GET pods/NAME/log?follow=true`` (an async context manager: the response)."""
        params = {"follow": "true"}
        if container:
            params["container"] = container
        url = f"{self.host}/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/log"
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
        )
        extra: dict[str, Any] = {}
        if getattr(self.conf, "proxy", None):
            extra["proxy"] = self.conf.proxy
        if getattr(self.conf, "tls_server_name", None):
            extra["server_hostname"] = self.conf.tls_server_name
        return self.session().get(
            url, params=params, headers=self.headers(), timeout=timeout, **extra
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class ProgressFollower:
    """The progress of one running transcode pod, read from its log by a task on the loop.

    ``latest`` and ``moved_at`` (monotonic) are read by the backend's tick.
    """

    def __init__(
        self, http: LogHttp, namespace: str, pod: str, container: str | None, pace: float = PACE
    ) -> None:
        self.pod = pod
        self.latest: Progress | None = None
        self.moved_at = time.monotonic()
        self.version = 0  # bumped at each new progress
        self.opened = 0  # how many times the stream was opened
        self.error: str | None = None  # the last one, for diagnostics
        self._http = http
        self._namespace = namespace
        self._container = container
        self._pace = pace
        self._decoder = LineDecoder()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"log-{self.pod}")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        delay = RECONNECT_SECONDS[0]
        while True:
            try:
                await self._read_once()
                delay = RECONNECT_SECONDS[0]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream broke while the pod runs: open it again
                self.error = " ".join(str(exc).split())[:200] or type(exc).__name__
            await asyncio.sleep(delay)
            delay = min(RECONNECT_SECONDS[1], delay * 2)

    async def _read_once(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._http.pod_log(self._namespace, self.pod, self._container) as response:
            if response.status != 200:
                body = ""
                with contextlib.suppress(Exception):
                    body = (await response.text())[:200]
                raise RuntimeError(f"{response.status} {response.reason}: {body}")
            self.opened += 1
            self._decoder = LineDecoder()  # the whole log comes again: parse it from its start
            content = response.content
            while True:
                asked = loop.time()
                data = await content.readany()
                if not data:
                    return
                self._chunk(data)
                # A read that waited is at the live end of the log: let the lines gather,
                # unread (no TLS record decrypted, no wake-up of this task meanwhile).
                if self._pace and loop.time() - asked >= LIVE_WAIT:
                    await _paused(response, self._pace)

    def _chunk(self, data: bytes) -> None:
        progress = self._decoder.feed(data)
        if progress is None or progress == self.latest:
            return
        previous = self.latest
        # one pod's progress never goes back: lower figures are a re-read log replayed
        if previous is not None and progress.overall_percent < previous.overall_percent:
            return
        self.latest = progress
        self.version += 1
        if previous is None or _moved(previous, progress):
            self.moved_at = time.monotonic()


async def _paused(response: aiohttp.ClientResponse, seconds: float) -> None:
    """Sleep with the response's transport not reading: what comes meanwhile waits."""
    connection = response.connection
    transport = connection.transport if connection is not None else None
    if transport is None:
        await asyncio.sleep(seconds)
        return
    transport.pause_reading()
    try:
        await asyncio.sleep(seconds)
    finally:
        if not transport.is_closing():
            transport.resume_reading()


def _moved(before: Progress, after: Progress) -> bool:
    return (after.pass_, after.overall_percent, after.state) != (
        before.pass_,
        before.overall_percent,
        before.state,
    )
