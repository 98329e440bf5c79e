"""The suite's network block: sockets may reach loopback addresses only.

guards.py puts this folder first on PYTHONPATH, so Python imports this file at start-up
in the pytest process and in every Python process below it (the build, notebook kernels,
torchrun, Python run from `sh` blocks). Programs that are not Python are not covered.
"""

from __future__ import annotations

import ipaddress
import socket


class NetworkBlockedError(ConnectionError):
    """Code run by the suite tried to reach a host that is not this machine."""


def is_loopback(host: object) -> bool:
    host = str(host).split("%")[0]
    if host.lower() in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name would need DNS
    return address.is_loopback or address.is_unspecified


def _refuse(address: object) -> None:
    raise NetworkBlockedError(
        f"the test suite blocks network access, and this code tried to reach {address!r}. "
        "Snippets must run offline: use data made in the snippet and 127.0.0.1 for servers."
    )


def _checked(real):
    def method(sock, *args):  # the address is the last argument of connect, connect_ex, sendto
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(args[-1][0]):
            _refuse(args[-1])
        return real(sock, *args)

    return method


def block_network() -> None:
    if getattr(socket, "_clipping_guide_blocked", False):
        return
    for name in ("connect", "connect_ex", "sendto"):
        setattr(socket.socket, name, _checked(getattr(socket.socket, name)))
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_loopback(host.decode() if isinstance(host, bytes) else host):
            _refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    socket._clipping_guide_blocked = True


block_network()
