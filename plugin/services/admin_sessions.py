"""Who is signed in to an installation: bind a browser after sign-in, list the sign-ins, sign out one or all.

Signing in (the install flow's Eduframe OAuth or token form) only proves that the browser belongs to an
administrator of the educator; it never changes what the sync runs on (see plugin/services/install.py).
"Sign out everywhere" raises the installation's session epoch, so even a browser session bound before
sign-ins were recorded stops working, and deletes the recorded sessions themselves.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from plugin.models import AdminSession, Installation

SESSION_INSTALLATION = "installation_id"
SESSION_EPOCH = "installation_epoch"
# last_seen_at is written at most this often per session: not one UPDATE per page view.
TOUCH_EVERY = timedelta(minutes=1)


def session_bind(*, request, installation: Installation, method: str | None = None) -> AdminSession:
    """Bind the browser session to the installation under a new session key (no fixation), and record it.

    `method` is how the browser signed in ("api_token" or "oauth"); by default the installation's own.
    """
    request.session.cycle_key()
    request.session[SESSION_INSTALLATION] = installation.pk
    request.session[SESSION_EPOCH] = installation.session_epoch
    request.session.save()
    return AdminSession.objects.create(
        installation=installation,
        session_key=request.session.session_key,
        method=method or installation.eduframe_auth,
        ip_address=(request.META.get("REMOTE_ADDR") or "")[:45],
        user_agent=(request.META.get("HTTP_USER_AGENT") or "")[:300],
    )


def session_epoch_valid(*, session, installation: Installation) -> bool:
    """False once "sign out everywhere" ran after this browser signed in."""
    return session.get(SESSION_EPOCH, 0) == installation.session_epoch


def session_current(*, request) -> AdminSession | None:
    key = request.session.session_key
    return AdminSession.objects.filter(session_key=key).first() if key else None


def session_touch(*, request) -> None:
    """Note that this browser was seen now (at most once a minute)."""
    key = request.session.session_key
    if not key:
        return
    now = timezone.now()
    stale = AdminSession.objects.filter(session_key=key, last_seen_at__lt=now - TOUCH_EVERY)
    # Read first: a write on every page view would contend with the workers for SQLite's lock.
    if stale.exists():
        stale.update(last_seen_at=now)


def session_sign_out(*, request) -> None:
    """Sign this browser out: its recorded sign-in and its session go."""
    key = request.session.session_key
    if key:
        AdminSession.objects.filter(session_key=key).delete()
    request.session.flush()


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def sessions_sign_out_everywhere(*, installation: Installation) -> int:
    """Sign out every browser of the installation; return how many recorded sign-ins ended."""
    store = _session_store()
    with transaction.atomic():
        Installation.objects.filter(pk=installation.pk).update(session_epoch=F("session_epoch") + 1)
        rows = AdminSession.objects.filter(installation=installation)
        keys = list(rows.values_list("session_key", flat=True))
        rows.delete()
    for key in keys:
        store(session_key=key).delete()
    installation.refresh_from_db(fields=["session_epoch"])
    return len(keys)


def sessions_active(*, installation: Installation) -> list[AdminSession]:
    """The installation's signed-in browsers whose session has not expired (expired records are dropped)."""
    rows = list(AdminSession.objects.filter(installation=installation))
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return rows
    from django.contrib.sessions.models import Session

    live = set(
        Session.objects.filter(
            session_key__in=[row.session_key for row in rows], expire_date__gt=timezone.now()
        ).values_list("session_key", flat=True)
    )
    gone = [row.pk for row in rows if row.session_key not in live]
    if gone:
        AdminSession.objects.filter(pk__in=gone).delete()
    return [row for row in rows if row.session_key in live]
