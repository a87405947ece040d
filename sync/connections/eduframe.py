"""The database side of an installation's Eduframe access, handed to the HTTP-only EduframeClient.

`eduframe_client(installation)` builds the client of a stored installation: its token (an OAuth token is
refreshed under the row lock, `eduframe_tokens.py`), Eduframe's Retry-After kept on the installation row for
every process, and reference data shared through Django's cache for a few minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from plugin.models import Installation
from sync.connections import eduframe_tokens
from sync.eduframe.access import EduframeAccess, refused_message
from sync.eduframe.client import EduframeClient
from sync.errors import AuthError


@dataclass
class StoredToken:
    """The installation's token (a TokenSource); the transport serves the OAuth refresh in tests."""

    installation: Installation
    transport: httpx.BaseTransport | None = None

    def token(self, *, rejected: str | None = None) -> str:
        return eduframe_tokens.bearer_for(self.installation, transport=self.transport, rejected=rejected)

    def renewable(self) -> bool:
        return eduframe_tokens.renewable(self.installation)

    def accepted(self) -> None:
        eduframe_tokens.clear_auth_error(self.installation)

    def refused(self) -> Exception:
        message = refused_message(oauth=self.installation.eduframe_auth == Installation.EduframeAuth.OAUTH)
        eduframe_tokens.mark_auth_error(self.installation, message)
        return AuthError(message)


@dataclass
class StoredThrottle:
    """Eduframe's Retry-After on the installation row (a Throttle); an unsaved installation keeps none.

    `as_loaded`: the installation was read just now (a booking reads it with its record), so its
    `eduframe_throttled_until` is the stored Retry-After and is not read again before each call; a 429 met
    meanwhile is stored for every process and kept on the object for the rest of this client's calls.
    """

    installation: Installation
    as_loaded: bool = False

    def until(self) -> datetime | None:
        if self.installation.pk is None:
            return None
        if self.as_loaded:
            return self.installation.eduframe_throttled_until
        rows = Installation.objects.filter(pk=self.installation.pk)
        return rows.values_list("eduframe_throttled_until", flat=True).first()

    def hold(self, until: datetime) -> None:
        if self.installation.pk is None:
            return
        Installation.objects.filter(pk=self.installation.pk).filter(
            Q(eduframe_throttled_until__isnull=True) | Q(eduframe_throttled_until__lt=until)
        ).update(eduframe_throttled_until=until)
        known = self.installation.eduframe_throttled_until
        if known is None or known < until:
            self.installation.eduframe_throttled_until = until


@dataclass
class SharedReferenceCache:
    """Reference data of the installation in Django's cache (a ReferenceCache), shared by a process's tasks."""

    installation: Installation

    def _key(self, key: str) -> str:
        return f"eduframe:{self.installation.pk}:{settings.EDUFRAME_BASE_URL}:{key}"

    def get(self, key: str) -> Any:
        return cache.get(self._key(key))

    def set(self, key: str, value: Any) -> None:
        cache.set(self._key(key), value, settings.EDUFRAME_REFERENCE_CACHE_SECONDS)


def eduframe_access(
    installation: Installation, *, transport: httpx.BaseTransport | None = None, throttle_as_loaded: bool = False
) -> EduframeAccess:
    """What an EduframeClient needs of a stored installation (`throttle_as_loaded`: see StoredThrottle)."""
    return EduframeAccess(
        tokens=StoredToken(installation, transport),
        throttle=StoredThrottle(installation, as_loaded=throttle_as_loaded),
        cache=SharedReferenceCache(installation),
    )


def eduframe_client(
    installation: Installation,
    *,
    transport: httpx.BaseTransport | None = None,
    max_throttle_wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    throttle_as_loaded: bool = False,
) -> EduframeClient:
    """The client of a stored installation (the transport, when given, also serves its token refreshes).

    `throttle_as_loaded`: the installation was just read, its stored Retry-After is taken from it (StoredThrottle).
    """
    return EduframeClient(
        eduframe_access(installation, transport=transport, throttle_as_loaded=throttle_as_loaded),
        transport=transport,
        max_throttle_wait=max_throttle_wait,
        sleep=sleep,
    )
