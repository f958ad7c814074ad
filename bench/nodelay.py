"""
TCP_NODELAY for the bare smpp34 client, the benchmarks' baseline: smpp34 owns its sockets in
Rust and sets no option, so the benchmarks reach them through a duplicate
descriptor. QuickOTP's own SMPP client (adapters/transports/smpp/session.py) owns its sockets
and sets this itself.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat


def _socket_fds() -> list[int]:
    for directory in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return [int(name) for name in os.listdir(directory)]
    return []


def tune_sockets(addresses: set[str], port: int) -> int:
    """
    Set TCP_NODELAY on every TCP socket of this process connected to
    `port` on one of `addresses`; returns how many. smpp34 owns its sockets in Rust and sets
    no option, so we reach them through a duplicate descriptor: socket
    options belong to the socket, not to the descriptor, and closing the duplicate leaves
    smpp34's own open.
    """
    tuned = 0
    for fd in _socket_fds():
        try:
            # Sockets only: closing a duplicate of a file's descriptor would drop every POSIX
            # lock this process holds on that file, SQLite's included (another process then
            # takes the database for unused and truncates its -shm under us: SIGBUS).
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            dup = os.dup(fd)
        except OSError:
            continue
        try:
            sock = socket.socket(fileno=dup)
        except OSError:
            os.close(dup)
            continue
        with sock:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            if sock.type != socket.SOCK_STREAM:
                continue
            try:
                peer = sock.getpeername()
            except OSError:
                continue
            if peer[0] not in addresses or peer[1] != port:
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tuned += 1
    return tuned
