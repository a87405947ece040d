"""The per-invoice lock: claimed with a conditional UPDATE (rows == 1 wins), released when the attempt ends.

A second caller that finds the record claimed does not wait and does not book: it appends RERUN to the claim
token. The holder releases with a conditional UPDATE on its own token; when that finds the token changed to
token+RERUN, someone asked for a sync while the holder worked (maybe with newer data than the holder read),
so the holder runs once more. No change is lost and no two workers ever book the same invoice at once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from sync.models import InvoiceRecord

CLAIM_TTL = timedelta(minutes=10)
RERUN = ":rerun"


def _claim_ttl() -> timedelta:
    """How long a claim holds: at least until Celery has killed an attempt that ran over its time limit."""
    return max(CLAIM_TTL, timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60))


def invoice_claim(*, record_id: int) -> str | None:
    """Claim the record for one attempt; return the claim token, or None when someone else holds it."""
    now = timezone.now()
    token = secrets.token_hex(8)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    rows = InvoiceRecord.objects.filter(free, pk=record_id).update(claimed_until=now + _claim_ttl(), claim_token=token)
    return token if rows == 1 else None


def invoice_rerun_request(*, record_id: int) -> bool:
    """Ask the current holder to run again; False when the claim ended meanwhile (then claim it yourself)."""
    held = InvoiceRecord.objects.filter(pk=record_id, claimed_until__gte=timezone.now())
    if held.exclude(claim_token__endswith=RERUN).update(claim_token=Concat("claim_token", Value(RERUN))) == 1:
        return True
    return held.filter(claim_token__endswith=RERUN).exists()


def invoice_release(*, record_id: int, token: str) -> bool:
    """Release our claim; return True when someone asked for a rerun meanwhile."""
    mine = InvoiceRecord.objects.filter(pk=record_id)
    if mine.filter(claim_token=token).update(claimed_until=None, claim_token="") == 1:
        return False
    return mine.filter(claim_token=token + RERUN).update(claimed_until=None, claim_token="") == 1
