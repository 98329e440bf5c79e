"""A pytest plugin (loaded with ``-p tests.guards``) that every test and snippet runs under.

* Network: sockets may only reach loopback addresses, so no snippet can quietly
  depend on the internet. Anything else fails at once with NetworkBlockedError.
* No silent skips: a code block from snippets/ that ends up skipped fails the run,
  and so does a run that collected a different number of code blocks than
  snippets/ holds runnable fences.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from tests.fences import runnable_fence_count

SNIPPETS = Path(__file__).resolve().parent.parent / "snippets"
LOCAL_NAMES = {"localhost", "localhost.localdomain", ""}


class NetworkBlockedError(ConnectionError):
    """Raised when test code tries to reach a host that is not this machine."""


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
    real_connect, real_connect_ex, real_sendto = (
        socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
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
        if host is not None and not is_loopback(host.decode() if isinstance(host, bytes) else host):
            _refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
    socket.getaddrinfo = getaddrinfo


def pytest_configure(config: pytest.Config) -> None:
    block_network()


def _is_snippet_block(item: pytest.Item) -> bool:
    return type(item).__name__ == "TestBlock" and SNIPPETS in Path(item.path).resolve().parents


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    collected = sum(_is_snippet_block(item) for item in items)
    here = config.invocation_params.dir
    selected_all_snippets = any(
        (here / arg.split("::")[0]).resolve() in (SNIPPETS, SNIPPETS.parent) for arg in config.args
    ) and not config.option.keyword and not config.option.markexpr
    expected = runnable_fence_count(SNIPPETS)
    if selected_all_snippets and collected != expected:
        raise pytest.UsageError(
            f"pytest-codeblocks collected {collected} code blocks from snippets/, but snippets/ has "
            f"{expected} runnable fences. Some blocks are skipped or malformed: run "
            "`pytest tests/test_snippet_rules.py` to see which file and line."
        )


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and report.nodeid.startswith("snippets/"):
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED:
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(
            "ERROR: these snippet code blocks were skipped; every snippet must run: " + ", ".join(_SKIPPED),
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
