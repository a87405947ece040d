"""The Exact Online host of each country; `settings.EXACT_BASE_URL` overrides them all."""

from __future__ import annotations

from django.conf import settings

# Reference: https://support.exactonline.com/community/s/knowledge-base#All-All-DNO-Content-exact-sites
EXACT_HOSTS = {
    "nl": "https://start.exactonline.nl",
    "be": "https://start.exactonline.be",
    "de": "https://start.exactonline.de",
    "uk": "https://start.exactonline.co.uk",
    "com": "https://start.exactonline.com",
    "es": "https://start.exactonline.es",
    "fr": "https://start.exactonline.fr",
}


def exact_base_url(region_or_connection_base_url: str | None = None) -> str:
    """Return the base URL for Exact calls: EXACT_BASE_URL when set, else the region's host."""
    override = getattr(settings, "EXACT_BASE_URL", None)
    if override:
        return override.rstrip("/")
    value = (region_or_connection_base_url or "nl").strip()
    if value.lower() in EXACT_HOSTS:
        return EXACT_HOSTS[value.lower()]
    if value.startswith(("https://", "http://")):
        return value.rstrip("/")
    raise ValueError(f"Unknown Exact Online region: {value!r}")
