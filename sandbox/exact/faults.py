"""Injected failures: error statuses, and connections dropped before or after the work is committed."""

from __future__ import annotations

import socket
from dataclasses import dataclass

KINDS = ("500", "503", "429", "drop", "commit_then_drop", "commit_then_500")
BEFORE = {"500", "503", "429", "drop"}  # the request is not processed
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


def drop_connection(environ) -> None:
    """Close the client's socket without an HTTP response (a lost answer, as in .NET SDK #152 [R S13])."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise DropConnection("sandbox fault: connection dropped")
