"""One list+watch of one kind, in a thread of its own, feeding a cache on the event loop.

Shaped after client-go's reflector: list (paged, raw JSON), remember the
``resourceVersion``, watch from it with bookmarks; a watch that ends is
opened again from the last version seen; a 410 Gone (the version is too
old) or a broken connection makes a fresh list, delivered as one
``Replace`` so objects deleted meanwhile vanish. While the API server cannot
be reached the source is reported disconnected, with the time it was last
heard from, and the thread retries with exponential backoff and jitter.

The kubernetes client blocks, so each informer runs in its own daemon
thread and hands what it read to the loop with ``call_soon_threadsafe``;
the loop never waits for the network. No polling: a quiet cluster costs one
idle watch per kind and a new watch every few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ponyconsole.backends.kube import wire
from ponyconsole.backends.kube.line_stream import stream_lines
from ponyconsole.startup_trace import mark

PAGE_SIZE = 500
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 10.0
WATCH_SECONDS = (240, 360)  # server-side watch timeout, random like client-go's 5-10 min
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Replace:
    """Everything of this kind now (after a list): objects not in it are gone."""

    items: dict[str, dict[str, Any]]
    resource_version: str


@dataclass(frozen=True)
class Delta:
    kind: str  # "ADDED" | "MODIFIED" | "DELETED"
    obj: dict[str, Any]


@dataclass(frozen=True)
class Lost:
    """The source cannot be reached; ``last_heard`` is when it last answered (epoch s)."""

    error: str
    last_heard: float | None


@dataclass(frozen=True)
class Resumed:
    """The watch is open again after a ``Lost``, from the version last seen."""


Change = Replace | Delta | Lost | Resumed


class Gone(Exception):
    """410: the resourceVersion is too old; list again."""


@dataclass(frozen=True)
class Kind:
    """What to list and watch: a name (the source), the list call and its arguments."""

    name: str
    list_call: Callable[..., Any]
    args: tuple[Any, ...] = ()
    label_selector: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    decoders: wire.Decoders = wire.WHOLE  # which fields to keep (wire.NODE, ...): all by default


def object_key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _transient(exc: BaseException) -> bool:
    """A connection that broke or was refused, or a server asking to retry (429).

    The watch is then opened again from the last version; anything else (an
    error event, an answer of the API) makes a fresh list, as client-go does.
    """
    import urllib3

    status = _status_of(exc)
    if status is not None:
        return status == 429
    return isinstance(exc, (urllib3.exceptions.HTTPError, OSError))


def describe(exc: BaseException) -> str:
    """One line for the user: "connection refused (127.0.0.1:6443)", "403 Forbidden: ..."."""
    status = _status_of(exc)
    if status:
        body = getattr(exc, "body", None)
        message = ""
        if body:
            with contextlib.suppress(Exception):
                message = json.loads(body).get("message", "")
        return f"{status} {getattr(exc, 'reason', '') or ''}: {message}".strip(": ")
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known"):
        if marker in text:
            return marker.lower()
    text = " ".join(text.split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class Informer:
    """List+watch of one kind; ``deliver`` is called on ``loop`` with each ``Change``."""

    def __init__(
        self,
        kind: Kind,
        loop: asyncio.AbstractEventLoop | None,
        deliver: Callable[[str, Change], None],
        page_size: int = PAGE_SIZE,
    ) -> None:
        """``loop`` may be None: the thread may start (and list) before the loop exists;
        what it reads meanwhile is held and handed over by ``attach``."""
        self.kind = kind
        self._loop = loop
        self._deliver = deliver
        self._held: list[Change] = []  # read before the loop was attached
        self._page_size = page_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"informer-{kind.name}", daemon=True)
        self._response: Any = None
        self._lock = threading.Lock()
        self.resource_version: str | None = None
        self.last_heard: float | None = None
        self.lists = 0  # how many lists were made (tests, benchmarks)
        self.gone = 0  # how many 410 Gone answers made a re-list
        self.watches = 0  # how many watches were opened
        self._broken = False  # break_watch asked: the watch's end is no failure
        self._forced_version: str | None = None  # the version break_watch asks to watch from
        self._lost = False  # Lost was sent; the next watch that opens sends Resumed

    # -- lifecycle (any thread) ---------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on ``loop`` from now on, beginning with what was read before."""
        with self._lock:  # in order: nothing new is sent before what was held
            self._loop = loop
            held, self._held = self._held, []
            for change in held:
                loop.call_soon_threadsafe(self._deliver, self.kind.name, change)

    def stop(self) -> None:
        self._stop.set()
        self.break_watch()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def break_watch(self, resource_version: str | None = None) -> None:
        """Close the open watch (tests: with a stale ``resource_version`` to force a 410)."""
        with self._lock:
            self._forced_version = resource_version
            self._broken = True
            response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()
            with contextlib.suppress(Exception):
                response.close()

    # -- the thread --------------------------------------------------------------

    def _send(self, change: Change) -> None:
        if self._stop.is_set():
            return
        with self._lock:
            loop = self._loop
            if loop is None:
                self._held.append(change)
                return
        with contextlib.suppress(RuntimeError):  # the loop closed under us
            loop.call_soon_threadsafe(self._deliver, self.kind.name, change)

    def _run(self) -> None:
        failures = 0
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._list()
                    need_list, failures, self._lost = False, 0, False
                self._watch()
                failures = 0
            except Gone:
                self.gone += 1
                need_list = True
            except Exception as exc:
                if self._stop.is_set():
                    break
                with self._lock:
                    broken, self._broken = self._broken, False
                if broken:
                    continue  # closed on purpose: watch again from the version set
                if _status_of(exc) == 410:
                    self.gone += 1
                    need_list = True
                    continue
                if not _transient(exc):
                    need_list = True
                failures += 1
                if failures == 1:
                    continue  # cut once (a blip, a restart): try again at once
                if not self._lost:
                    self._send(Lost(describe(exc), self.last_heard))
                    self._lost = True
                delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (failures - 2))
                self._stop.wait(delay * random.uniform(0.5, 1.0))

    def _call(self, **kwargs: Any) -> Any:
        kind = self.kind
        if kind.label_selector:
            kwargs["label_selector"] = kind.label_selector
        return kind.list_call(*kind.args, _preload_content=False, **kind.extra, **kwargs)

    def _list(self) -> None:
        items: dict[str, dict[str, Any]] = {}
        cont: str | None = None
        rv = ""
        while True:
            kwargs: dict[str, Any] = {"limit": self._page_size}
            if cont:
                kwargs["_continue"] = cont
            response = self._call(_request_timeout=(CONNECT_TIMEOUT, 60), **kwargs)
            try:
                page = self.kind.decoders.page(response.data)
            finally:
                with contextlib.suppress(Exception):
                    response.release_conn()
            for obj in page.get("items") or []:
                items[object_key(obj)] = obj
            meta = page.get("metadata") or {}
            rv = meta.get("resourceVersion") or rv
            cont = meta.get("continue") or None
            if not cont:
                break
        self.last_heard = time.time()
        with self._lock:
            self.resource_version = rv
        self.lists += 1
        mark(f"listed {self.kind.name} ({len(items)})")
        self._send(Replace(items, rv))

    def _watch(self) -> None:
        timeout = random.randint(*WATCH_SECONDS)
        with self._lock:
            rv = self._forced_version or self.resource_version
            self._forced_version = None
            self._broken = False
        response = self._call(
            watch=True,
            allow_watch_bookmarks=True,
            resource_version=rv,
            timeout_seconds=timeout,
            _request_timeout=(CONNECT_TIMEOUT, timeout + 30),
        )
        with self._lock:
            self._response = response
            self.watches += 1
        self.last_heard = time.time()
        if self._lost:
            self._lost = False
            self._send(Resumed())
        if self._stop.is_set():
            response.close()
            return
        try:
            self._read(response)
        finally:
            with self._lock:
                self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()

    def _read(self, response: Any) -> None:
        for line in stream_lines(response, self._stop.is_set):
            if line.strip():
                self._event(self.kind.decoders.event(line))

    def _event(self, event: dict[str, Any]) -> None:
        etype = event.get("type")
        obj = event.get("object") or {}
        self.last_heard = time.time()
        if etype == "ERROR":
            if obj.get("code") == 410:
                raise Gone(obj.get("message", "resourceVersion too old"))
            raise RuntimeError(f"watch error {obj.get('code')}: {obj.get('message')}")
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv:
            with self._lock:
                self.resource_version = rv
        if etype in ("ADDED", "MODIFIED", "DELETED"):
            self._send(Delta(etype, obj))
