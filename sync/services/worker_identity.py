"""Who this process is ("host:pid:start"), and whether the process behind such a name on this host still lives.

The start time (from /proc, in clock ticks since boot) tells a reused pid from the process that held a claim.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path


def _start_ticks(pid: int) -> str:
    """The process's start time from /proc/<pid>/stat, or "" where there is no /proc (or no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.rsplit(")", 1)[1].split()[19]


def host_name() -> str:
    return socket.gethostname()[:80]


@cache
def _holder_for(pid: int) -> str:
    return f"{host_name()}:{pid}:{_start_ticks(pid)}"


def holder_name() -> str:
    """This process's name for the claims it takes (cached per pid: a forked child gets its own)."""
    return _holder_for(os.getpid())


def holder_alive_here(holder: str) -> bool | None:
    """True/False for a holder on this host (its process lives / is gone); None for another host's holder."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host_name():
        return None
    _, pid_text, ticks = parts
    try:
        pid = int(pid_text)
    except ValueError:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return _start_ticks(pid) == ticks if ticks else True
