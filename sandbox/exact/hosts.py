"""Exact's country platforms [C S6, S7, S10]: one host per country, each a separate platform, so tokens,
codes and divisions are bound to the host that issued or holds them [R Invantive, U].

The sandbox listens on one address; the `Host` header names the platform. The real hosts map to their
country; any other host (127.0.0.1, localhost, a test double's name) is the sandbox's default country.
"""

from __future__ import annotations

COUNTRY_HOSTS = {
    "start.exactonline.nl": "NL",
    "start.exactonline.be": "BE",
    "start.exactonline.de": "DE",
    "start.exactonline.co.uk": "GB",
    "start.exactonline.com": "US",
    "start.exactonline.es": "ES",
    "start.exactonline.fr": "FR",
}
DEFAULT_COUNTRY = "NL"


def host_country(host: str | None, default: str = DEFAULT_COUNTRY) -> str:
    """The country platform a request's Host header (with or without port) belongs to."""
    name = (host or "").strip().lower()
    if name.startswith("["):  # an IPv6 literal
        name = name.split("]")[0] + "]"
    else:
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    return COUNTRY_HOSTS.get(name, default)
