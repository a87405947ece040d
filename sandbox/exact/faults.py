"""Injected failures: error statuses, and connections dropped before or after the work is committed."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from werkzeug.wrappers import Response

KINDS = ("500", "503", "429", "429_daily", "429_bare", "drop", "commit_then_drop", "commit_then_500")
BEFORE = {"500", "503", "429", "429_daily", "429_bare", "drop"}  # the request is not processed
# An injected 429 stands for budget used by another app or process (picqer #646 [R S14]). Exact then sends
# only the exceeded limit's headers, showing it used up [K/R S6, S14]; in 2019 some 429s had none (#255).
INJECTED_429_LIMIT = {"429": "minutely", "429_daily": "daily", "429_bare": None}
AFTER = {"commit_then_drop", "commit_then_500"}  # processed and committed, the answer is lost


class DropConnection(ConnectionAbortedError):
    """Raised after shutting the socket: werkzeug treats ConnectionError as a dropped connection and
    writes nothing, so the client sees the server disconnect without a response."""


@dataclass
class Fault:
    method: str | None
    endpoint: str
    kind: str
    remaining: int


class FaultRegistry:
    def __init__(self):
        self.faults: list[Fault] = []

    def inject(self, endpoint: str, kind: str, count: int = 1) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        method, _, path = endpoint.strip().rpartition(" ")
        self.faults.append(Fault(method.upper() or None, path.strip("/"), kind, count))

    def take(self, method: str, endpoint: str) -> str | None:
        """The kind of the first matching fault, consuming one of its uses."""
        for fault in self.faults:
            if fault.endpoint == endpoint and fault.method in (None, method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault.kind
        return None

    def clear(self) -> None:
        self.faults.clear()


def injected_429(kind: str, limit_headers: dict) -> Response:
    """The empty 429 of an injected fault, with only the exceeded limit's headers and `Remaining` 0, so a
    client that trusts the headers backs off until that limit's reset [C S1; K S6]. `limit_headers` are the
    limiter's headers of this call (both limits); none at all for "429_bare"."""
    which = INJECTED_429_LIMIT[kind]
    prefix = {"minutely": "X-RateLimit-Minutely-", "daily": "X-RateLimit-"}.get(which or "", "")
    headers = {}
    for name, value in limit_headers.items():
        minutely = name.startswith("X-RateLimit-Minutely-")
        if which and name.startswith(prefix) and minutely == (which == "minutely"):
            headers[name] = "0" if name.endswith("-Remaining") else value
    return Response(b"", status=429, headers=headers)


def drop_connection(environ) -> None:
    """Close the client's socket without an HTTP response (a lost answer, as in .NET SDK #152 [R S13])."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise DropConnection("sandbox fault: connection dropped")
