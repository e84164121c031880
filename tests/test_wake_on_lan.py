"""Wake-on-LAN: the packet a UDP listener on loopback receives, byte for byte."""

from __future__ import annotations

import socket

import pytest

from ponyconsole.backends.protocol import BackendError
from ponyconsole.backends.wake import send_magic_packet
from ponyconsole.domain.wake_on_lan import magic_packet, parse_mac


def test_the_packet_a_listener_receives_is_six_ff_then_the_mac_sixteen_times() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        port = listener.getsockname()[1]
        said = send_magic_packet("52:54:00:0A:0B:0C", "127.0.0.1", port)
        packet, _ = listener.recvfrom(1024)
    assert packet[:6] == b"\xff" * 6
    assert packet[6:] == bytes([0x52, 0x54, 0x00, 0x0A, 0x0B, 0x0C]) * 16
    assert len(packet) == 102
    assert "52:54:00:0A:0B:0C" in said and f"127.0.0.1:{port}" in said


@pytest.mark.parametrize("mac", ["52-54-00-0a-0b-0c", "5254000a0b0c", " 52:54:00:0a:0b:0c "])
def test_common_spellings_of_a_mac_are_accepted(mac: str) -> None:
    assert parse_mac(mac) == bytes.fromhex("5254000a0b0c")


@pytest.mark.parametrize(
    "mac", ["", "52:54:00:0a:0b", "52:54:00:0a:0b:0c:0d", "zz:54:00:0a:0b:0c", "52:54-00:0a:0b:0c"]
)
def test_a_bad_mac_is_refused_clearly(mac: str) -> None:
    with pytest.raises(ValueError, match="not a MAC address"):
        magic_packet(mac)
    with pytest.raises(BackendError, match="not a MAC address"):
        send_magic_packet(mac, "127.0.0.1", 9)
