"""The one way this service talks HTTP to an API: explicit timeouts, our User-Agent, a shared TLS context.

Building a TLS context loads the CA bundle (tens of milliseconds), so the context is made once per process.
The API clients go further: one pooled connection per process and API root (`shared_http_client`), so a
worker booking thousands of invoices keeps its connections (and TLS sessions) alive instead of opening two
new ones per booking. The pool is safe to share between threads; after a fork (Celery's prefork pool) the
child starts with an empty pool, never with its parent's sockets. Nothing keeps cookies: a pooled client
serves every tenant, and nothing one tenant's answers set may travel with another tenant's requests. The
token goes with each request, never on the client.
"""

from __future__ import annotations

import os
import ssl
import threading
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

USER_AGENT = "EduExact/0.1"
CONNECT_TIMEOUT_SECONDS = 5.0
# What every request carries (the headers an httpx.Client sends, with our User-Agent and JSON asked for).
DEFAULT_HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "User-Agent": USER_AGENT,
}


class ApiHttp:
    """Sends requests to one API root through a pooled httpx transport: what the API clients use.

    Not an httpx.Client, on purpose: per request a Client merges the URL with its base URL, walks an auth flow
    and a redirect loop we never use, and copies every answer's headers into a cookie jar's message objects
    (for a jar that keeps nothing here): about 0.3 ms of CPU a request, 7-8 requests a booking (issue 8). Here
    the request is built once, whole, and handed to the transport, which pools the connections and maps its
    failures onto httpx's errors exactly as under a Client. Redirects are never followed (as before).
    """

    def __init__(self, base_url: str, *, timeout_seconds: float, transport: httpx.BaseTransport) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS)
        self.headers = httpx.Headers(DEFAULT_HEADERS)
        self.is_closed = False
        self._transport = transport
        self._timeouts = self.timeout.as_dict()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request (a path under the API root, or an absolute URL) and read its whole answer."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.base_url}/{url.lstrip('/')}"
        request = httpx.Request(
            method,
            url,
            params=params,
            headers={**DEFAULT_HEADERS, **headers} if headers else DEFAULT_HEADERS,
            content=content,
            json=json,
            extensions={"timeout": self._timeouts},
        )
        response = self._transport.handle_request(request)
        response.request = request
        try:
            response.read()  # closes the stream: the connection goes back to the pool
        except BaseException:
            response.close()
            raise
        return response

    def close(self) -> None:
        self._transport.close()
        self.is_closed = True


_pool: dict[tuple[str, float], ApiHttp] = {}
_pool_lock = threading.Lock()


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context, with the system's default CA certificates."""
    return ssl.create_default_context()


def _environment_proxy(base_url: str) -> str | None:
    """The proxy the environment names for this API root (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY less NO_PROXY),
    as an httpx.Client would take it from there."""
    parts = urlsplit(base_url)
    proxies = getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def make_http_client(base_url: str, *, timeout_seconds: float, transport: httpx.BaseTransport | None = None) -> ApiHttp:
    """An ApiHttp for one API: explicit timeout (never None), our User-Agent, JSON, no cookies kept."""
    if transport is None:
        transport = httpx.HTTPTransport(verify=shared_ssl_context(), proxy=_environment_proxy(base_url))
    return ApiHttp(base_url, timeout_seconds=timeout_seconds, transport=transport)


def shared_http_client(base_url: str, *, timeout_seconds: float) -> ApiHttp:
    """The process's pooled client for one API root (made on first use, never closed by its users)."""
    key = (base_url, timeout_seconds)
    with _pool_lock:
        client = _pool.get(key)
        if client is None:
            client = _pool[key] = make_http_client(base_url, timeout_seconds=timeout_seconds)
        return client


def http_client_for(
    base_url: str, *, timeout_seconds: float, transport: httpx.BaseTransport | None = None
) -> tuple[ApiHttp, bool]:
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
