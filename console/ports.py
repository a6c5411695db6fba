"""Ports for the launcher and the server: one rule for "is this port free"."""

from __future__ import annotations

import socket


def port_free(host: str, port: int) -> bool:
    """True if nothing listens on (host, port). granian binds with SO_REUSEPORT on Linux, so a second server (or a
    worker that outlived a crashed one) on the same port would otherwise start silently and share the traffic."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port the system has free now on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
