"""A bare SOCKS5 CONNECT, to read the reply code tor's ExtendedErrors gives for onions."""

from __future__ import annotations

import socket
import struct

SUCCEEDED = 0x00
ONION_DESCRIPTOR_NOT_FOUND = 0xF0
ONION_CLIENT_AUTH_MISSING = 0xF4
ONION_CLIENT_AUTH_BAD = 0xF5


def socks_connect_reply(socks_port: int, host: str, port: int = 80, timeout: float = 60.0) -> int:
    """Ask tor's SocksPort to connect to host:port; return the SOCKS5 reply code."""
    with socket.create_connection(("127.0.0.1", socks_port), timeout=timeout) as sock:
        sock.sendall(b"\x05\x01\x00")
        if sock.recv(2) != b"\x05\x00":
            raise ConnectionError("tor's SocksPort refused the no-auth method")
        name = host.encode("ascii")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
        reply = sock.recv(10)
        if len(reply) < 2 or reply[0] != 5:
            raise ConnectionError(f"not a SOCKS5 reply: {reply!r}")
        return reply[1]
