"""Following pod logs through the API: one thread per stream, never on the event loop.

``LogStream`` reads ``GET pods/NAME/log?follow=true`` as it arrives and calls
back once per line (the item detail's live log), or once per read with the
bytes as they came (``on_chunk``). ``ProgressFollower`` is the one stream per
running transcode pod: its output is either one JSON progress object a line
(what the pipeline's ``ponyconsole transcode`` prints) or raw HandBrake output
(text, ``\\r``-separated, or ``--json`` blocks). Each read is given whole to
the domain's streaming parser, which finds every update in it with one regex;
only the last one is kept. At the live end of the log the stream reads about
twice a second (``pace``): what HandBrake prints meanwhile waits in the socket.
The follower keeps the latest progress and when it last moved; the backend's
1 s tick reads that, so a log growing at HandBrake's rate costs the loop at
most one update a second per job, and the watches (threads of their own)
never wait behind a log.

Why threads and not tasks on the loop: measured with six logs growing at
HandBrake's pace (the kube backend alone, same cluster, same minute), six
paced threads cost 0.27 % of a core; the same six followed on the event loop
with aiohttp cost 0.53-0.66 %, all of it on the UI's thread (asyncio's TLS
is Python code per record), even with the transport paused between reads.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from ponyconsole.backends.kube.line_stream import CHUNK, line_batches
from ponyconsole.domain.handbrake_progress import ProgressParser
from ponyconsole.domain.models import Progress

RECONNECT_SECONDS = (1.0, 10.0)
# A silent log longer than this is read again from its start (the client takes no "never");
# the follower ignores the replayed, older progress.
READ_TIMEOUT = 600.0
LIVE_WAIT = 0.05  # a read that waited this long found no more log already sent


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

    ``on_chunk``: given instead of ``on_line``, it gets each read's bytes as they came.
    ``pace``: after a read that waited for data, wait this long (what arrives meanwhile
    is read then without waiting: fewer wake-ups for a log nobody reads line by line).
    ``follow``: keep the stream open (and open it again after a break, with a
    fresh ``on_open``) until ``close()``; without it, read what is there and end.
    ``reconnect=False``: end when the server ends the stream (no line read twice).
    ``on_end`` is called once when the thread finishes, with the error if one ended it.
    """

    def __init__(
        self,
        core: Any,  # raw_api.RawPodLogs (or the typed CoreV1Api: the same method)
        namespace: str,
        pod: str,
        container: str | None,
        on_line: Callable[[str], None],
        on_open: Callable[[], None] = lambda: None,
        on_end: Callable[[str | None], None] = lambda error: None,
        follow: bool = True,
        tail_lines: int | None = None,
        reconnect: bool = True,
        on_chunk: Callable[[bytes], None] | None = None,
        pace: float = 0.0,
    ) -> None:
        self.pod = pod
        self._core = core
        self._namespace = namespace
        self._container = container
        self._on_line = on_line
        self._on_chunk = on_chunk
        self._pace = pace
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
            if self._on_chunk is not None:
                self._read_chunks(response, self._on_chunk)
            else:
                for lines in line_batches(response, self._closed.is_set):
                    for line in lines:
                        self._on_line(line.decode("utf-8", "replace"))
        finally:
            self._response = None
            with contextlib.suppress(Exception):
                response.release_conn()

    def _read_chunks(self, response: Any, on_chunk: Callable[[bytes], None]) -> None:
        chunks = iter(response.stream(CHUNK, decode_content=True))
        while True:
            asked = time.monotonic()
            chunk = next(chunks, None)
            if chunk is None or self._closed.is_set():
                return
            on_chunk(chunk)
            # A read that waited is at the live end of the log (a replayed log's reads
            # follow each other at once): let the next lines gather meanwhile.
            live = time.monotonic() - asked >= LIVE_WAIT
            if self._pace and live and self._closed.wait(self._pace):
                return


PACE = 0.5  # a followed transcode's log is read about twice a second at its live end


class ProgressFollower:
    """The progress of one running transcode pod, read from its log.

    ``latest`` and ``moved_at`` (monotonic) are written by the stream's
    thread and read by the loop's tick: single assignments, no lock needed.
    """

    def __init__(
        self, core: Any, namespace: str, pod: str, container: str | None, pace: float = PACE
    ) -> None:
        self.pod = pod
        self.latest: Progress | None = None
        self.moved_at = time.monotonic()
        self.version = 0  # bumped at each new progress; the tick publishes when it changed
        self._decoder = LineDecoder()
        self._stream = LogStream(
            core,
            namespace,
            pod,
            container,
            lambda line: None,
            self._reopened,
            on_chunk=self._chunk,
            pace=pace,
        )

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.close()

    def _reopened(self) -> None:
        self._decoder = LineDecoder()  # the whole log comes again: parse it from its start

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


def _moved(before: Progress, after: Progress) -> bool:
    return (after.pass_, after.overall_percent, after.state) != (
        before.pass_,
        before.overall_percent,
        before.state,
    )
