"""Celery worker signals: a worker that starts frees the claims (and reports) of the dead worker it replaces."""

from __future__ import annotations

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def recover_claims_at_start(**kwargs) -> None:
    """A worker killed mid-booking left its claims behind: book those invoices now, not when the claims run out."""
    from sync.services.claim_recovery import claims_recover_abandoned

    try:
        count = claims_recover_abandoned()
    except Exception:  # the worker must start even when the database is not there yet; beat tries again
        logger.exception("Could not recover abandoned claims at worker start.")
        return
    if count:
        logger.warning("Recovered %s invoice(s) left claimed by a stopped worker.", count)


@worker_ready.connect
def recover_reconciliation_runs_at_start(**kwargs) -> None:
    """A worker killed while making a reconciliation report left it "running": show it failed, so it is run again."""
    from sync.services.reconciliation_recovery import reconciliation_runs_recover

    try:
        count = reconciliation_runs_recover()
    except Exception:  # as above: the worker starts all the same; beat tries again
        logger.exception("Could not recover abandoned reconciliation runs at worker start.")
        return
    if count:
        logger.warning("Marked %s reconciliation run(s) of a stopped worker as failed.", count)


@worker_ready.connect
def tell_whether_the_key_opens_the_tokens(**kwargs) -> None:
    """A worker with a wrong TOKEN_ENCRYPTION_KEY says so at start (each invoice would only say "Reconnect needed")."""
    from plugin.services.key_check import key_problem_log

    try:
        key_problem_log("Worker")
    except Exception:  # as above: the worker starts all the same
        logger.exception("Could not check TOKEN_ENCRYPTION_KEY against the stored tokens at worker start.")


@worker_ready.connect
def book_invoices_waiting_for_the_key(**kwargs) -> None:
    """A worker started with the encryption key back books the invoices a wrong key left waiting, at once."""
    from sync.services.token_recovery import invoices_key_recover

    try:
        count = invoices_key_recover()
    except Exception:  # as above: the worker starts all the same; the invoices' own recheck takes them later
        logger.exception("Could not queue the invoices waiting for the encryption key at worker start.")
        return
    if count:
        logger.warning("Queued %s invoice(s) that waited for a readable token.", count)
