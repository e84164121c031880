"""Pod logs: the progress in a transcode's log, and one log followed in a thread.

``LineDecoder`` turns a pod log, fed as it arrives, into progress: either one
JSON progress object a line (what the pipeline's ``ponyconsole transcode``
prints) or raw HandBrake output (text, ``\\r``-separated, or ``--json``
blocks) for the domain's streaming parser; each read gives its newest update.
The running transcodes' logs are followed on the event loop
(``log_follow.ProgressFollower``). ``LogStream`` reads one log (the item
detail's, tail or followed live) in a daemon thread of its own with the
kubernetes client, and calls back once per line.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from ponyconsole.backends.kube.line_stream import line_batches
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


def _json_line(line: bytes) -> Progress | None:
    text = line.strip()
    if not (text.startswith(b"{") and text.endswith(b"}") and b'"state"' in text):
        return None
    return json_progress(text.decode("utf-8", "replace"))


JSON_LINE_MAX = 4096  # a longer line is no JSON progress object (raw output without "\n")


class LineDecoder:
    """A pod log's progress: JSON progress lines, else raw HandBrake output for the parser.

    ``feed`` takes the bytes as they arrive, split anywhere, and gives the latest
    progress in them. Every byte goes to the HandBrake parser (so ``\\r``-separated
    progress shows before any ``\\n``); only a JSON progress line's bytes are also read
    as JSON, and the order of the two kinds is kept.
    """

    def __init__(self) -> None:
        self._parser = ProgressParser()
        self._line: bytes | None = b""  # the unfinished line; None: too long, skip to "\n"
        self.last: Progress | None = None

    def feed(self, data: bytes) -> Progress | None:
        latest: Progress | None = None
        pieces = data.split(b"\n")
        start = 0  # the bytes before this went to the parser
        end = -1  # where the current piece's "\n" is
        for i, piece in enumerate(pieces[:-1]):
            end += len(piece) + 1
            line = piece if i else self._line
            if i == 0 and line is not None:
                line += piece
            progress = _json_line(line) if line is not None else None
            if progress is not None:
                self._parser.feed(data[start : end + 1])  # older than this line: dropped
                latest, start = progress, end + 1
        if start < len(data):
            updates = self._parser.feed(data[start:])
            if updates:
                latest = updates[-1]
        tail = pieces[-1]
        if len(pieces) > 1:
            self._line = tail
        elif self._line is not None:
            self._line += tail
        if self._line is not None and len(self._line) > JSON_LINE_MAX:
            self._line = None
        if latest is not None:
            self.last = latest
        return latest

    def feed_line(self, line: str) -> Progress | None:
        """One whole line (without its ``\\n``)."""
        return self.feed(line.encode("utf-8", "surrogateescape") + b"\n")


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
        try:
            for lines in line_batches(response, self._closed.is_set):
                for line in lines:
                    self._on_line(line.decode("utf-8", "replace"))
        finally:
            self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()
