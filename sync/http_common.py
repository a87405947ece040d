"""The one way this service builds an HTTP client: explicit timeouts, our User-Agent, a shared TLS context.

Building a TLS context loads the CA bundle (tens of milliseconds); a booking builds two clients, so the
context is made once per process and shared.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx

USER_AGENT = "EduExact/0.1"


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context, with the system's default CA certificates."""
    return ssl.create_default_context()


def make_http_client(
    base_url: str, *, timeout_seconds: float, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """Build an httpx.Client for one API: explicit timeout (never None), our User-Agent, JSON."""
    kwargs = {"transport": transport} if transport is not None else {"verify": shared_ssl_context()}
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_seconds, connect=5.0),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
        **kwargs,
    )
