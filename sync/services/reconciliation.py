"""The reconciliation report: estimate its cost, run it (in the background or for the command), book again.

The page asks for a run (`reconciliation_request`), which a thin Celery task executes after commit
(`reconciliation_run_execute`), updating its progress per API call. The command calls `report_make` itself.
"Book again" queues exactly the invoices whose difference a new booking repairs, through `invoice_enqueue`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from plugin.models import Installation
from plugin.selectors import settings_get
from sync.errors import FunctionalError, SyncError
from sync.models import AccountLink, InvoiceRecord, SyncAttempt
from sync.reconciliation_models import ReconciliationRun
from sync.services import reconciliation_read as read
from sync.services.invoice_queue import invoice_enqueue
from sync.services.reconciliation_compare import Inputs, RecordFacts, Report, report_build
from sync.services.reconciliation_export import report_from_json, report_to_json
from sync.services.worker_identity import holder_name

EDUFRAME_PAGE = 100  # invoices per Eduframe page (sync/eduframe/client.py PER_PAGE)
EXACT_PAGE = 1000  # ledger lines per bulk call
LINES_PER_ENTRY = 2  # the total line and (usually) one VAT line
Status = ReconciliationRun.Status


@dataclass(frozen=True)
class CallEstimate:
    eduframe: int
    exact: int


def reconciliation_estimate(*, installation: Installation, year: int) -> CallEstimate:
    """Expected calls, from what EduExact already knows: Eduframe pages per status, Exact bulk pages for the year."""
    records = InvoiceRecord.objects.filter(installation=installation)
    eduframe = 0
    for status in read.LISTED_STATUSES:
        eduframe += max(1, math.ceil(records.filter(eduframe_status=status).count() / EDUFRAME_PAGE))
    entries = records.filter(invoice_date__year=year).exclude(exact_entry_id=None).count()
    exact = max(1, math.ceil(entries * LINES_PER_ENTRY / EXACT_PAGE))
    return CallEstimate(eduframe=eduframe, exact=exact)


def _records(installation: Installation) -> list[RecordFacts]:
    fields = ("eduframe_invoice_id", "number", "state", "reason", "exact_entry_id", "booked_at")
    rows = InvoiceRecord.objects.filter(installation=installation).values_list(*fields)
    return [RecordFacts(*row) for row in rows]


def _links(installation: Installation, division: int) -> dict:
    links = AccountLink.objects.filter(installation=installation, exact_division=division)
    return dict(links.exclude(exact_account_id=None).values_list("eduframe_account_id", "exact_account_id"))


def _settings(installation: Installation):
    settings = settings_get(installation=installation)
    if not settings.division or not settings.journal_code:
        raise FunctionalError("Choose the division and fill in the journal code on the settings page first.")
    return settings


def report_make(
    *, installation: Installation, year: int, month: int, on_call=None, max_throttle_wait: float | None = None
) -> tuple[Report, int, int]:
    """Read both sides and compare one month (and total the year); return (report, Eduframe calls, Exact calls).

    `max_throttle_wait`: how long to wait in place for Eduframe's Retry-After (default: a background task's)."""
    from sync.connections.eduframe import eduframe_client
    from sync.connections.exact import exact_client_for
    from sync.eduframe.client import BACKGROUND_THROTTLE_WAIT

    settings = _settings(installation)
    wait = BACKGROUND_THROTTLE_WAIT if max_throttle_wait is None else max_throttle_wait
    with (
        eduframe_client(installation, max_throttle_wait=wait) as eduframe,
        exact_client_for(installation) as exact,
    ):

        def tick() -> None:
            if on_call is not None:
                on_call(eduframe.calls_made, exact.calls_made)

        invoices = read.invoices_read(eduframe, tick)
        entries = read.entries_read(exact, settings.division, settings.journal_code, year, tick)
        records = _records(installation)
        inputs = Inputs(year, month, settings.journal_code, settings.division, settings.sync_from, invoices,
                        entries, records, _links(installation, settings.division))  # fmt: skip
        inputs.found_elsewhere = read.entries_by_id(exact, settings.division, _missing_ids(inputs), tick)
        return report_build(inputs), eduframe.calls_made, exact.calls_made


def _missing_ids(inputs: Inputs) -> list:
    """Entries EduExact booked for the month's invoices that the year's lines do not show."""
    in_year = {entry.entry_id for entry in inputs.entries}
    month_ids = {inv.id for inv in inputs.invoices if inv.opened_at and (inv.opened_at.year, inv.opened_at.month)
                 == (inputs.year, inputs.month)}  # fmt: skip
    return [r.exact_entry_id for r in inputs.records
            if r.eduframe_invoice_id in month_ids and r.exact_entry_id and r.exact_entry_id not in in_year]  # fmt: skip


def reconciliation_request(*, installation: Installation, year: int, month: int) -> ReconciliationRun:
    """Create a run with its estimate and start it in the background once the transaction commits."""
    from sync.tasks import reconciliation_run_task

    estimate = reconciliation_estimate(installation=installation, year=year)
    run = ReconciliationRun.objects.create(
        installation=installation,
        year=year,
        month=month,
        estimated_eduframe_calls=estimate.eduframe,
        estimated_exact_calls=estimate.exact,
        steps_total=estimate.eduframe + estimate.exact,
    )
    transaction.on_commit(lambda: reconciliation_run_task.delay(run.pk))
    return run


def reconciliation_run_execute(*, run_id: int) -> None:
    """Run a queued report once (a second delivery of the task finds it no longer queued)."""
    now = timezone.now()
    started = ReconciliationRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, holder=holder_name()
    )
    if not started:
        return
    run = ReconciliationRun.objects.select_related("installation").get(pk=run_id)

    def on_call(eduframe_calls: int, exact_calls: int) -> None:
        done = eduframe_calls + exact_calls
        if done != run.steps_done:
            run.steps_done = done
            # Better late than wrong: an estimate too low grows with the calls.
            run.steps_total = max(run.steps_total, done + 1)
            ReconciliationRun.objects.filter(pk=run_id).update(
                steps_done=done, steps_total=run.steps_total, heartbeat_at=timezone.now()
            )

    try:
        report, eduframe_calls, exact_calls = report_make(
            installation=run.installation, year=run.year, month=run.month, on_call=on_call
        )
    except SyncError as error:
        _finish(run, Status.FAILED, error=error.message)
        return
    except Exception as error:
        _finish(run, Status.FAILED, error=f"Unexpected error: {error!r}")
        raise
    _finish(run, Status.DONE, result=report_to_json(report), eduframe_calls=eduframe_calls, exact_calls=exact_calls)


def _finish(run: ReconciliationRun, status: str, **fields) -> None:
    fields.update(status=status, finished_at=timezone.now(), steps_done=max(run.steps_done, 1))
    fields["steps_total"] = fields["steps_done"]
    ReconciliationRun.objects.filter(pk=run.pk).update(**fields)


def reconciliation_book_again(*, run: ReconciliationRun) -> int:
    """Queue exactly the invoices whose difference a new booking repairs; return how many."""
    if run.status != Status.DONE or not run.result:
        return 0
    ids = report_from_json(run.result).to_book_again
    with transaction.atomic():
        # The fingerprint says "nothing changed since the last booking", and the entry we last sent lets an
        # update skip reading the entry: forget both, so the worker compares the invoice with the entry as Exact
        # holds it now and repairs what differs (the PDF's fingerprint stays: the document is not in question).
        records = InvoiceRecord.objects.select_for_update().filter(
            installation=run.installation, eduframe_invoice_id__in=ids
        )
        for record in records:
            record.booked_fingerprint = ""
            record.booked_payload = {k: v for k, v in (record.booked_payload or {}).items() if k != "entry"}
            record.save(update_fields=["booked_fingerprint", "booked_payload", "updated_at"])
        for eduframe_invoice_id in ids:
            invoice_enqueue(
                installation=run.installation,
                eduframe_invoice_id=eduframe_invoice_id,
                trigger=SyncAttempt.Trigger.MANUAL,
            )
        ReconciliationRun.objects.filter(pk=run.pk).update(booked_again_at=timezone.now())
    return len(ids)
