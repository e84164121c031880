"""The lines of a streamed HTTP response (a watch, a followed pod log), as they arrive.

One function for both readers of a long-lived response: the informer's watch
(one JSON event a line) and a followed pod log (one log line a line). A chunk
may end inside a line; the unfinished part is carried to the next chunk. The
reader's ``stopped`` is asked once per chunk, so a closed stream ends at the
next chunk that arrives.

``line_batches`` gives every complete line of one read at once: a log
follower that only wants the latest progress looks at the end of a batch
and skips the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

CHUNK = 65536


def line_batches(
    response: Any,  # urllib3.HTTPResponse opened with _preload_content=False
    stopped: Callable[[], bool] = lambda: False,
    chunk_size: int = CHUNK,
) -> Iterator[list[bytes]]:
    """The complete lines of each read, in order (without ``\\n``); then the unterminated rest.

    Ends when the response ends or ``stopped()`` is true after a read.
    """
    buffer = b""
    for chunk in response.stream(chunk_size, decode_content=True):
        if stopped():
            return
        if b"\n" not in chunk:
            buffer += chunk
            continue
        *lines, rest = (buffer + chunk).split(b"\n")
        buffer = rest
        yield lines
    if buffer:
        yield [buffer]


def stream_lines(
    response: Any, stopped: Callable[[], bool] = lambda: False, chunk_size: int = CHUNK
) -> Iterator[bytes]:
    """Each line of the response as it arrives (see ``line_batches``)."""
    for lines in line_batches(response, stopped, chunk_size):
        yield from lines
