"""Send a Wake-on-LAN magic packet over UDP broadcast (default 255.255.255.255:9)."""

from __future__ import annotations

import socket

from ponyconsole.backends.protocol import BackendError
from ponyconsole.domain.wake_on_lan import magic_packet

DEFAULT_BROADCAST = "255.255.255.255"
DEFAULT_PORT = 9


def send_magic_packet(mac: str, address: str = DEFAULT_BROADCAST, port: int = DEFAULT_PORT) -> str:
    """Send it; returns what was sent, in words. Blocking (a single sendto): call in a thread."""
    try:
        packet = magic_packet(mac)
    except ValueError as error:
        raise BackendError(str(error)) from None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.sendto(packet, (address, port))
    except OSError as error:
        raise BackendError(f"cannot send the magic packet to {address}:{port}: {error}") from None
    return f"magic packet for {mac} sent to {address}:{port} ({len(packet)} bytes)"
