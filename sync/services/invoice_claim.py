"""The per-invoice lock: claimed with a conditional UPDATE (rows == 1 wins), released when the attempt ends.

A second caller that finds the record claimed does not wait and does not book: it appends RERUN to the claim
token. The holder releases with a conditional UPDATE on its own token; when that finds the token changed to
token+RERUN, someone asked for a sync while the holder worked (maybe with newer data than the holder read),
so the holder runs once more. No change is lost and no two workers ever book the same invoice at once.

A claim is short (CLAIM_TTL) and kept alive by a heartbeat thread of the holder while its attempt runs, and it
names its holder (host, pid, process start). So a worker killed mid-booking leaves a claim that either ends
within CLAIM_TTL or is recognised as a dead process's by the next worker started on that host
(`sync/services/claim_recovery.py`): the invoice is booked again within a minute or two, not after hours.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import timedelta

from django.db import connection, connections
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from sync.models import InvoiceRecord
from sync.services.claim_recovery import attempts_cut_short_close
from sync.services.worker_identity import holder_alive_here, holder_name

logger = logging.getLogger(__name__)
CLAIM_TTL = timedelta(seconds=60)
HEARTBEAT_EVERY = timedelta(seconds=15)
RERUN = ":rerun"
_heartbeats: dict[tuple[int, str], threading.Event] = {}


def _yours(record_id: int, token: str):
    """The record while `token` (with or without a rerun request appended) still holds it."""
    return InvoiceRecord.objects.filter(Q(claim_token=token) | Q(claim_token=token + RERUN), pk=record_id)


def _claim_sql() -> str:
    table = InvoiceRecord._meta.db_table
    # Column names of our own only, no input: the values go as parameters.
    return (
        f"UPDATE {table} SET claimed_until = %s, claim_token = %s, claim_holder = %s "  # noqa: S608
        "WHERE id = %s AND (claimed_until IS NULL OR claimed_until < %s)"
    )


def _release_sql() -> str:
    table = InvoiceRecord._meta.db_table
    return f"UPDATE {table} SET claimed_until = NULL, claim_token = '', claim_holder = '' WHERE id = %s AND claim_token = %s"  # noqa: S608


# Written once: every booking claims and releases, and the ORM would build both statements again each time.
_CLAIM_SQL, _RELEASE_SQL = _claim_sql(), _release_sql()


def _rows_changed(sql: str, params: list) -> int:
    db = connections[InvoiceRecord.objects.db]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def invoice_claim(*, record_id: int) -> str | None:
    """Claim the record for one attempt; return the claim token, or None when someone else holds it."""
    now = timezone.now()
    token = secrets.token_hex(8)
    at = connections[InvoiceRecord.objects.db].ops.adapt_datetimefield_value
    rows = _rows_changed(_CLAIM_SQL, [at(now + CLAIM_TTL), token, holder_name(), record_id, at(now)])
    if rows != 1 and not _take_over_from_dead_holder(record_id, token):
        return None
    _heartbeat_start(record_id, token)
    return token


def _take_over_from_dead_holder(record_id: int, token: str) -> bool:
    """A claim held by a process of this host that no longer lives (a killed pool child) is ours at once.

    Celery re-delivers a killed child's task right away (reject_on_worker_lost): without this, it would find
    the claim still held and leave a rerun request the dead holder never reads.
    """
    held = InvoiceRecord.objects.filter(pk=record_id).values("claim_token", "claim_holder").first()
    if not held or not held["claim_token"] or holder_alive_here(held["claim_holder"]) is not False:
        return False
    taken = InvoiceRecord.objects.filter(pk=record_id, claim_token=held["claim_token"]).update(
        claimed_until=timezone.now() + CLAIM_TTL, claim_token=token, claim_holder=holder_name()
    )
    if taken != 1:
        return False
    attempts_cut_short_close(record_id=record_id)
    return True


def invoice_claim_extend(*, record_id: int, token: str) -> bool:
    """Push the claim's end CLAIM_TTL ahead; False when the claim is no longer ours."""
    return _yours(record_id, token).update(claimed_until=timezone.now() + CLAIM_TTL) == 1


def _heartbeat_start(record_id: int, token: str) -> None:
    stop = threading.Event()
    _heartbeats[(record_id, token)] = stop
    thread = threading.Thread(
        target=_heartbeat, args=(record_id, token, stop), name=f"claim-heartbeat-{record_id}", daemon=True
    )
    thread.start()


def _heartbeat(record_id: int, token: str, stop: threading.Event) -> None:
    """Extend the claim until the attempt ends (or the claim was taken from us); own DB connection, closed after."""
    last_extended = timezone.now()
    try:
        while not stop.wait(HEARTBEAT_EVERY.total_seconds()):
            try:
                if not invoice_claim_extend(record_id=record_id, token=token):
                    return
                last_extended = timezone.now()
            except Exception:  # a database hiccup: try again at the next beat, while the claim still holds
                logger.exception("Could not extend the claim on invoice record %s", record_id)
                if timezone.now() - last_extended > CLAIM_TTL:
                    return  # the claim has run out meanwhile: it is no longer ours to keep
    finally:
        connection.close()


def _heartbeat_stop(record_id: int, token: str) -> None:
    stop = _heartbeats.pop((record_id, token), None)
    if stop is not None:
        stop.set()


def invoice_rerun_request(*, record_id: int) -> bool:
    """Ask the current holder to run again; False when the claim ended meanwhile (then claim it yourself)."""
    held = InvoiceRecord.objects.filter(pk=record_id, claimed_until__gte=timezone.now())
    if held.exclude(claim_token__endswith=RERUN).update(claim_token=Concat("claim_token", Value(RERUN))) == 1:
        return True
    return held.filter(claim_token__endswith=RERUN).exists()


def invoice_release(*, record_id: int, token: str) -> bool:
    """Release our claim; return True when someone asked for a rerun meanwhile."""
    _heartbeat_stop(record_id, token)
    if _rows_changed(_RELEASE_SQL, [record_id, token]) == 1:
        return False
    return _rows_changed(_RELEASE_SQL, [record_id, token + RERUN]) == 1
