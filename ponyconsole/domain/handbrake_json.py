"""Finding HandBrake's `Name: {...}` JSON blocks inside mixed log output.

HandBrakeCLI (--json) interleaves pretty-printed blocks such as ``Version: {``,
``Progress: {`` and ``JSON Title Set: {`` with plain log lines on the same
stream, so a block is found by its name and delimited by a real JSON parse
(``JSONDecoder.raw_decode``, in C), which matches braces inside strings
correctly. Shared by the streaming progress parser and the scan parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_DECODER = json.JSONDecoder()


class Incomplete(Exception):
    """The block may still be completed by more data (only raised when not final)."""


class Malformed(Exception):
    """The text after the block name is not a JSON object and never will be."""


def decode_block(text: str, brace: int, final: bool = True) -> tuple[Any, int]:
    """Decode the JSON object starting at ``text[brace]`` ('{'); return (value, end).

    Raises ``Incomplete`` when the text ends inside the object and ``final`` is
    false, ``Malformed`` when it cannot be an object whatever follows.
    """
    # Fast path: jansson pretty-prints with the closing brace of the top-level
    # object alone at column 0, and raw newlines cannot occur inside JSON
    # strings, so the first "\n}" closes the block. Measured: 2x faster than
    # letting raw_decode find the end on ~400-byte progress blocks.
    close = text.find("\n}", brace)
    if close >= 0:
        try:
            return json.loads(text[brace : close + 2]), close + 2
        except ValueError:
            pass
    try:
        value, end = _DECODER.raw_decode(text, brace)
    except json.JSONDecodeError as err:
        if not final and _may_continue(text, err):
            raise Incomplete from None
        raise Malformed(err.msg) from None
    except RecursionError:
        raise Malformed("nested too deeply") from None
    if not isinstance(value, dict):
        raise Malformed("not an object")
    return value, end


def _may_continue(text: str, err: json.JSONDecodeError) -> bool:
    """Would more data possibly turn this failure into a valid object?"""
    if err.pos >= len(text) or err.msg.startswith("Unterminated string"):
        return True
    # a literal, a number or an escape cut in the middle: "tru", "-", "\u00"
    rest = text[err.pos :]
    return len(rest) <= 10 and "\n" not in rest


def iter_blocks(text: str, name: str) -> Iterator[dict[str, Any]]:
    """Every well-formed ``name: {...}`` object in complete output, in order."""
    pattern = re.compile(re.escape(name) + r": ?\{")
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        try:
            value, pos = decode_block(text, match.end() - 1)
        except (Malformed, Incomplete):
            pos = match.end()
            continue
        yield value


def to_text(output: bytes | str) -> str:
    """Output of HandBrake as text; invalid UTF-8 never raises."""
    if isinstance(output, str):
        return output
    return output.decode("utf-8", errors="replace")
