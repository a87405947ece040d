"""The one way this service builds an HTTP client: explicit timeouts, our User-Agent, a shared TLS context.

Building a TLS context loads the CA bundle (tens of milliseconds), so the context is made once per process.
The API clients go further: one pooled httpx.Client per process and API root (`shared_http_client`), so a
worker booking thousands of invoices keeps its connections (and TLS sessions) alive instead of opening two
new ones per booking. httpx.Client is safe to share between threads; after a fork (Celery's prefork pool)
the child starts with an empty pool, never with its parent's sockets. A shared client keeps no cookies: it
serves every tenant, and nothing one tenant's answers set may travel with another tenant's requests. The
token goes with each request, never on the client.
"""

from __future__ import annotations

import os
import ssl
import threading
from functools import lru_cache
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

USER_AGENT = "EduExact/0.1"
CONNECT_TIMEOUT_SECONDS = 5.0

_pool: dict[tuple[str, float], httpx.Client] = {}
_pool_lock = threading.Lock()


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context, with the system's default CA certificates."""
    return ssl.create_default_context()


def _no_cookies() -> CookieJar:
    """A cookie jar that stores nothing (no domain is allowed to set a cookie)."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def make_http_client(
    base_url: str, *, timeout_seconds: float, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """Build an httpx.Client for one API: explicit timeout (never None), our User-Agent, JSON, no cookies kept."""
    kwargs = {"transport": transport} if transport is not None else {"verify": shared_ssl_context()}
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        cookies=_no_cookies(),
        follow_redirects=False,
        **kwargs,
    )


def shared_http_client(base_url: str, *, timeout_seconds: float) -> httpx.Client:
    """The process's pooled client for one API root (made on first use, never closed by its users)."""
    key = (base_url, timeout_seconds)
    with _pool_lock:
        client = _pool.get(key)
        if client is None:
            client = _pool[key] = make_http_client(base_url, timeout_seconds=timeout_seconds)
        return client


def http_client_for(
    base_url: str, *, timeout_seconds: float, transport: httpx.BaseTransport | None = None
) -> tuple[httpx.Client, bool]:
    """The client an API client uses, and whether it owns it (and closes it): a given transport (tests) gets
    a client of its own, everything else the process's pooled one."""
    if transport is not None:
        return make_http_client(base_url, timeout_seconds=timeout_seconds, transport=transport), True
    return shared_http_client(base_url, timeout_seconds=timeout_seconds), False


def _forget_pool_after_fork() -> None:
    """In a forked child: the parent's clients hold the parent's sockets (and maybe its lock held mid-use)."""
    global _pool_lock
    _pool.clear()
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
