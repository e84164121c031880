"""Following pod logs through the API: one thread per stream, never on the event loop.

``LogStream`` reads ``GET pods/NAME/log?follow=true`` as it arrives and calls
back once per line. ``ProgressFollower`` is the one stream per running
transcode pod: each line is either one JSON progress object (what the
pipeline's ``ponyconsole transcode`` prints) or raw HandBrake output (text,
or ``--json`` blocks), fed to the domain's streaming parser. The follower
only keeps the latest progress and when it last moved; the backend's 1 s
tick reads that, so a log growing at HandBrake's rate costs the loop at most
one update a second per job, and the watches (threads of their own) never
wait behind a log.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ponyconsole.domain.handbrake_progress import ProgressParser
from ponyconsole.domain.models import Progress

RECONNECT_SECONDS = (1.0, 10.0)
# A silent log longer than this is read again from its start (the client takes no "never");
# the follower ignores the replayed, older progress.
READ_TIMEOUT = 600.0


def json_progress(line: str) -> Progress | None:
    """The line as one JSON progress object (``Progress.as_json``'s form), else None."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}") and '"state"' in text):
        return None
    try:
        data = json.loads(text)
        return Progress.from_json(data) if isinstance(data, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


class LineDecoder:
    """Per line: a JSON progress object, else raw HandBrake output for the parser."""

    def __init__(self) -> None:
        self._parser = ProgressParser()
        self.last: Progress | None = None

    def feed_line(self, line: str) -> Progress | None:
        progress = json_progress(line)
        if progress is None:
            updates = self._parser.feed(line.encode("utf-8", "surrogateescape") + b"\n")
            progress = updates[-1] if updates else None
        if progress is not None:
            self.last = progress
        return progress


class LogStream:
    """One followed pod log in a daemon thread; ``on_line`` is called in that thread.

    ``follow``: keep the stream open (and open it again after a break, with a
    fresh ``on_open``) until ``close()``; without it, read what is there and end.
    ``reconnect=False``: end when the server ends the stream (no line read twice).
    ``on_end`` is called once when the thread finishes, with the error if one ended it.
    """

    def __init__(
        self,
        core: Any,  # kubernetes.client.CoreV1Api
        namespace: str,
        pod: str,
        container: str | None,
        on_line: Callable[[str], None],
        on_open: Callable[[], None] = lambda: None,
        on_end: Callable[[str | None], None] = lambda error: None,
        follow: bool = True,
        tail_lines: int | None = None,
        reconnect: bool = True,
    ) -> None:
        self.pod = pod
        self._core = core
        self._namespace = namespace
        self._container = container
        self._on_line = on_line
        self._on_open = on_open
        self._on_end = on_end
        self._follow = follow
        self._tail = tail_lines
        self._reconnect = reconnect
        self._closed = threading.Event()
        self.error: str | None = None
        self.opened = 0  # how many times the stream was opened
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name=f"log-{pod}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()
            with contextlib.suppress(Exception):
                response.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def run(self) -> None:
        """Read in the calling thread (``start`` runs this in the stream's own)."""
        self._run()

    def _run(self) -> None:
        error: str | None = None
        delay = RECONNECT_SECONDS[0]
        try:
            while not self._closed.is_set():
                try:
                    self._read_once()
                    delay = RECONNECT_SECONDS[0]
                except Exception as exc:
                    if self._closed.is_set():
                        break
                    error = " ".join(str(exc).split())[:200] or type(exc).__name__
                    self.error = error  # the last one, for diagnostics
                if not (self._follow and self._reconnect):
                    break
                self._closed.wait(delay)  # the stream broke while the pod runs: open it again
                delay = min(RECONNECT_SECONDS[1], delay * 2)
        finally:
            self._on_end(None if self._closed.is_set() else error)

    def _read_once(self) -> None:
        kwargs: dict[str, Any] = {"follow": self._follow, "_preload_content": False}
        if self._container:
            kwargs["container"] = self._container
        if self._tail is not None:
            kwargs["tail_lines"] = self._tail
        response = self._core.read_namespaced_pod_log(
            self.pod, self._namespace, _request_timeout=(5, READ_TIMEOUT), **kwargs
        )
        self._response = response
        if self._closed.is_set():
            response.close()
            return
        self.opened += 1
        self._on_open()
        buffer = b""
        try:
            for chunk in response.stream(65536, decode_content=True):
                if self._closed.is_set():
                    return
                buffer += chunk
                if b"\n" not in chunk:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._on_line(line.decode("utf-8", "replace"))
            if buffer:
                self._on_line(buffer.decode("utf-8", "replace"))
        finally:
            self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()


class ProgressFollower:
    """The progress of one running transcode pod, read from its log.

    ``latest`` and ``moved_at`` (monotonic) are written by the stream's
    thread and read by the loop's tick: single assignments, no lock needed.
    """

    def __init__(self, core: Any, namespace: str, pod: str, container: str | None) -> None:
        self.pod = pod
        self.latest: Progress | None = None
        self.moved_at = time.monotonic()
        self.version = 0  # bumped at each new progress; the tick publishes when it changed
        self._decoder = LineDecoder()
        self._stream = LogStream(core, namespace, pod, container, self._line, self._reopened)

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.close()

    def _reopened(self) -> None:
        self._decoder = LineDecoder()  # the whole log comes again: parse it from its start

    def _line(self, line: str) -> None:
        progress = self._decoder.feed_line(line)
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


def _moved(before: Progress, after: Progress) -> bool:
    return (after.pass_, after.overall_percent, after.state) != (
        before.pass_,
        before.overall_percent,
        before.state,
    )
