"""The Wake-on-LAN magic packet: 6 x 0xFF, then the MAC address 16 times."""

from __future__ import annotations

import re

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.IGNORECASE)


def parse_mac(text: str) -> bytes:
    """ "aa:bb:cc:dd:ee:ff", "aa-bb-…" or "aabbccddeeff" -> 6 bytes; ValueError otherwise."""
    cleaned = text.strip()
    if not _MAC.match(cleaned):
        raise ValueError(f"not a MAC address: {text!r}")
    return bytes.fromhex(re.sub(r"[:-]", "", cleaned))


def magic_packet(mac: str) -> bytes:
    return b"\xff" * 6 + parse_mac(mac) * 16
