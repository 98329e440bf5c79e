"""The suite's network block, for every Python process it starts.

The test suite (tests/support/guards.py) puts this folder first on PYTHONPATH, so Python
imports this file at start-up in the pytest process and in every Python process
started below it: the strict build, the notebook kernels it executes, the
benchmark, torchrun and its workers, and Python run from `sh`/`bash` blocks.
Sockets may then reach loopback addresses only; anything else raises
NetworkBlockedError at once. Programs that are not Python (curl, a browser) are
not covered by this file; the browser tests check Chromium's requests themselves.
"""

from __future__ import annotations

import ipaddress
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


class NetworkBlockedError(ConnectionError):
    """Raised when code run by the suite tries to reach a host that is not this machine."""


def is_loopback(host: object) -> bool:
    host = str(host).split("%")[0]
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name other than localhost would need DNS: refuse it
    return address.is_loopback or address.is_unspecified


def _refuse(address: object) -> None:
    raise NetworkBlockedError(
        f"the test suite blocks network access, and this code tried to reach {address!r}. "
        "Snippets must run offline: use data made in the snippet and 127.0.0.1 for servers."
    )


def block_network() -> None:
    if getattr(socket, "_clipping_guide_blocked", False):
        return
    real_connect, real_connect_ex, real_sendto = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.socket.sendto,
    )
    real_getaddrinfo = socket.getaddrinfo

    def checked(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            _refuse(address)

    def connect(sock, address):
        checked(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        checked(sock, address)
        return real_connect_ex(sock, address)

    def sendto(sock, data, *args):
        checked(sock, args[-1])
        return real_sendto(sock, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if host is not None and not is_loopback(name):
            _refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo
    socket._clipping_guide_blocked = True


block_network()
