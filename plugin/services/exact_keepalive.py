"""Keep idle Exact connections alive.

Exact refresh tokens expire after about 30 days unused (Exact's OAuth guide, step 4 "refresh the access
token"; the token endpoint then answers "The refresh token expired at ..."), and then only a new consent by
the administrator helps. A tenant that invoices rarely would lose its connection in a
quiet month, so connections whose tokens are older than a week get one refresh.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from plugin.models import ExactConnection
from sync.connections.exact_tokens import access_token_for
from sync.errors import SyncError

logger = logging.getLogger(__name__)

IDLE_AFTER = timedelta(days=7)


def exact_connections_keep_alive() -> int:
    """Refresh the tokens of every connected connection idle for a week; return how many were refreshed."""
    idle = ExactConnection.objects.filter(
        status=ExactConnection.Status.CONNECTED, tokens_issued_at__lt=timezone.now() - IDLE_AFTER
    )
    refreshed = 0
    for connection in idle:
        try:
            # Its access token is long expired: asking for one refreshes the pair.
            access_token_for(connection)
        except SyncError as exc:
            # The connection row already says what is wrong (needs reconnecting); the page shows it.
            logger.warning("Keeping Exact connection %s alive failed: %s", connection.pk, exc.message)
            continue
        refreshed += 1
    return refreshed
