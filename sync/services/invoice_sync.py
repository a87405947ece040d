"""Book one Eduframe invoice in Exact Online: claim, fetch, plan, account, document, entry, record.

Every outcome lands on the InvoiceRecord (state, reason, fix hint, Exact ids, fingerprint) and on one
SyncAttempt (what was sent, what Exact answered, the decisions, the number of Exact calls).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from django.utils import timezone

from plugin.models import CourseOverride, GlobalSettings, VatMapping
from plugin.selectors import settings_get
from sync.compiled_read import CompiledRead
from sync.connections.eduframe import eduframe_client
from sync.connections.exact import exact_client_for
from sync.eduframe.client import BACKGROUND_THROTTLE_WAIT
from sync.eduframe.entities import Invoice
from sync.errors import FunctionalError, SyncError, TokensUnreadable
from sync.models import AccountLink, InvoiceRecord, SyncAttempt
from sync.services.account_match import account_calls_ahead
from sync.services.booking_errors import ErrorSource, outcome_for
from sync.services.booking_inputs import lookups_for, plan_for_invoice
from sync.services.entry_payload import gl_ids_resolve, jsonable
from sync.services.entry_plan import fingerprint
from sync.services.entry_write import entry_remove
from sync.services.invoice_claim import invoice_claim, invoice_release, invoice_rerun_request
from sync.services.invoice_dispatch import booking_calls_estimate
from sync.services.invoice_entry import Booking, entry_division, invoice_entry_book
from sync.services.record_fit import fit_text_fields, record_unexpected_failure
from sync.services.row_save import changed_fields, row_save, row_update

State, Outcome = InvoiceRecord.State, SyncAttempt.Outcome
# A booked entry is never deleted on a 404 that may only mean "this token may not see invoices".
HIDDEN_INVOICE = (
    "Eduframe answers 'not found' for this invoice and refuses the list of invoices too, so it is not certain "
    "the invoice was deleted; its entry stays in Exact. Check that the Eduframe token may read invoices "
    "(scope invoices:read), then retry."
)
MAX_RUNS = 5


def invoice_sync(*, record_id: int, trigger: str) -> SyncAttempt:
    """Bring one invoice record in line with Eduframe, at most one worker at a time; return the attempt."""
    attempt = None
    for _ in range(MAX_RUNS):
        token = invoice_claim(record_id=record_id)
        if token is None:
            if invoice_rerun_request(record_id=record_id):
                return _not_run(record_id, trigger)
            continue  # the holder released just now: claim it ourselves
        try:
            attempt = _sync_claimed(record_id, trigger)
        finally:
            rerun = invoice_release(record_id=record_id, token=token)
        if not rerun:
            return attempt
    if attempt is None:
        # Never claimed: the record is gone (DoesNotExist says so) or changed hands at every try.
        return _not_run(record_id, trigger)
    # Asked for once more after the last run: the request goes back to the database (due now), where the
    # dispatcher finds it; the booking never sends a task itself.
    InvoiceRecord.objects.filter(pk=record_id).update(due_at=timezone.now())
    return attempt


def _not_run(record_id: int, trigger: str) -> SyncAttempt:
    """An unsaved attempt: the holder of the claim runs again with the latest data, so nothing is lost."""
    record = InvoiceRecord.objects.get(pk=record_id)
    return SyncAttempt(
        invoice=record,
        trigger=trigger,
        outcome=Outcome.SKIPPED,
        message="Another attempt for this invoice is running; it runs once more afterwards with the latest data.",
    )


# What an attempt learns while it runs (its invoice, trigger and start are written by its INSERT).
ATTEMPT_RESULT_FIELDS = [
    f.name for f in SyncAttempt._meta.concrete_fields if f.name not in {"id", "invoice", "trigger", "started_at"}
]


def _sync_claimed(record_id: int, trigger: str) -> SyncAttempt:
    record = record_read(record_id)
    attempt = SyncAttempt.objects.create(invoice=record, trigger=trigger, request_payload={})
    booking = Booking(record=record, attempt=attempt)
    try:
        _run(booking)
    except SyncError as error:
        _fail(booking, error)
    except Exception as error:
        _finish(booking, Outcome.FAILED, f"Unexpected error: {error!r}")
        record_unexpected_failure(record_id=record_id, error=error)
        raise
    finally:
        attempt.exact_calls = booking.exact.calls_made if booking.exact else 0
        attempt.finished_at = timezone.now()
        # Only what changed since the INSERT or the last request log (the request log is not sent twice); with the
        # save signals, whose post_save tallies the finished attempt (monitoring/signals.py).
        try:
            row_save(attempt, [f for f in changed_fields(attempt, booking.attempt_seen) if f in ATTEMPT_RESULT_FIELDS])
        finally:
            _close_clients(booking)
    return attempt


# The booking's first read, by id: compiled once (sync/compiled_read.py).
_RECORD = CompiledRead(lambda pk: InvoiceRecord.objects.select_related("installation").filter(pk=pk))


# The customer's link, read once per booking (budget check and account step).
_LINK = CompiledRead(
    lambda installation_id, eduframe_account_id: AccountLink.objects.filter(
        installation_id=installation_id, eduframe_account_id=eduframe_account_id
    ).order_by("pk")[:1]
)


def record_read(record_id: int) -> InvoiceRecord:
    """The record with its installation (DoesNotExist when it is gone)."""
    found = _RECORD.rows(record_id)
    if not found:
        raise InvoiceRecord.DoesNotExist(f"InvoiceRecord {record_id} does not exist.")
    return found[0]


def _close_clients(booking: Booking) -> None:
    """Release the connections of this booking's HTTP clients (a worker books thousands of invoices); the Exact
    client writes its calls' day counts as it closes."""
    for client in (booking.eduframe, booking.exact):
        if client is not None:
            client.close()


def _run(booking: Booking) -> None:
    record = booking.record
    # The installation was read with the record just now: its stored Retry-After is not read again per call.
    booking.eduframe = eduframe_client(
        record.installation, max_throttle_wait=BACKGROUND_THROTTLE_WAIT, throttle_as_loaded=True
    )
    invoice = booking.eduframe.get_invoice(record.eduframe_invoice_id)
    # Older API versions answer a deleted invoice with status "deleted" instead of a 404 (the `deleted` status of
    # Eduframe's older API spec, and of its help article "Invoices": a concept invoice deleted before sending).
    if invoice is None or invoice.status == "deleted":
        if invoice is None and record.exact_entry_id and not booking.eduframe.invoices_readable():
            raise FunctionalError(HIDDEN_INVOICE)
        return _invoice_gone(booking)
    booking.invoice_digest = invoice_digest(invoice)  # once: hashing every field costs about a millisecond
    if _seen_unchanged(record, booking.invoice_digest, booking.attempt.trigger):
        message = "Eduframe's invoice did not change since it was booked: no further call."
        return _settle(booking, State.BOOKED, Outcome.UNCHANGED, message)
    _snapshot(record, invoice)
    settings = settings_get(installation=record.installation)
    skip = _skip_reason(record, invoice, settings)
    if skip:
        return _settle(booking, State.SKIPPED, Outcome.SKIPPED, skip)
    booking.source = ErrorSource.EXACT
    booking.exact = exact_client_for(record.installation, counts_at_close=True)
    lookups = lookups_for(exact=booking.exact, installation=record.installation, division=settings.division)
    booking.plan = plan = plan_for_invoice(
        installation=record.installation,
        eduframe=booking.eduframe,
        lookups=lookups,
        invoice=invoice,
        global_settings=settings,
    )
    booking.attempt.decisions = jsonable(plan.decisions)
    if plan.problems:
        return _needs_attention(booking, plan.problems)
    booking.fingerprint = fingerprint(plan)
    if record.exact_entry_id and record.booked_fingerprint == booking.fingerprint:
        message = "Nothing changed for the books since the last booking: no call to Exact."
        # This version of the invoice is in the books: a repeated webhook for it costs one Eduframe call.
        record.booked_payload = {**(record.booked_payload or {}), "invoice_digest": booking.invoice_digest}
        return _settle(booking, State.BOOKED, Outcome.UNCHANGED, message)
    booking.gl_ids, problems = gl_ids_resolve(lookups, plan)
    if problems:
        return _needs_attention(booking, problems)
    # Started only when the budget holds the whole booking: a half-made booking pays again to find its parts.
    # Read once: the account step uses the same link (the known customer's booking reads no other row for it).
    booking.account_link = link = next(iter(_LINK.rows(record.installation_id, plan.eduframe_account_id)), None)
    known = link is not None and link.exact_account_id is not None
    account_calls = account_calls_ahead(link, booking.division, plan.account.exact_fields())
    booking.exact.budget_fits(
        booking_calls_estimate(in_exact=bool(record.exact_entry_id), known_customer=known, account_calls=account_calls)
    )
    invoice_entry_book(booking, invoice)
    _booked(booking)


def _seen_unchanged(record: InvoiceRecord, digest: str, trigger: str) -> bool:
    """A repeated webhook (or a rescan) of a booked invoice whose `updated_at` is the one we booked: 1 call.

    Settings, overrides, a retry or an operator still re-plan the entry: only Eduframe's own signals are
    answered from the invoice's timestamp.
    """
    eduframe_signal = trigger in (SyncAttempt.Trigger.WEBHOOK, SyncAttempt.Trigger.RECONCILE)
    # The invoice as Eduframe sent it, field by field: a timestamp alone may not move within its resolution.
    same = (record.booked_payload or {}).get("invoice_digest") == digest
    booked = record.state == State.BOOKED and bool(record.exact_entry_id) and record.booked_at is not None
    return eduframe_signal and same and booked and not _settings_changed_since(record.installation, record.booked_at)


def invoice_digest(invoice: Invoice) -> str:
    """A hash of every field of the Eduframe invoice (items included) as the booking read it."""
    text = json.dumps(jsonable(dataclasses.asdict(invoice)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _settings_changed_since(installation, moment) -> bool:
    """Whether a setting, an override or the VAT mapping changed after `moment` (their signals re-plan too)."""
    return (
        GlobalSettings.objects.filter(installation=installation, updated_at__gt=moment).exists()
        or CourseOverride.objects.filter(installation=installation, updated_at__gt=moment).exists()
        or VatMapping.objects.filter(installation=installation, updated_at__gt=moment).exists()
    )


def _skip_reason(record: InvoiceRecord, invoice: Invoice, settings: GlobalSettings) -> str:
    """Why the invoice is not booked at all (concept, or dated before `Sync from`), or "" to book it."""
    if invoice.status == "concept":
        return "Concept invoice: booked once it is opened."
    # An entry booked before `Sync from` moved later stays in Exact and keeps following the invoice.
    before = settings.sync_from and invoice.opened_at and invoice.opened_at < settings.sync_from
    if before and not record.exact_entry_id:
        return f"Dated {invoice.opened_at:%Y-%m-%d}, before 'Sync from' ({settings.sync_from:%Y-%m-%d}): not booked."
    return ""


def _snapshot(record: InvoiceRecord, invoice: Invoice) -> None:
    """Keep the invoice's headline on the record for the sync log."""
    record.number = invoice.number or ""
    record.eduframe_account_id = invoice.account_id
    record.account_name = invoice.account_name or ""
    record.eduframe_status = invoice.status
    record.invoice_date = invoice.opened_at
    record.total_incl = invoice.total_incl
    record.eduframe_updated_at = invoice.updated_at


def _invoice_gone(booking: Booking) -> None:
    """Eduframe deleted the invoice: delete its entry in Exact, or reverse it when Exact refuses the delete."""
    record = booking.record
    if record.state == State.DELETED:
        return _settle(booking, State.DELETED, Outcome.DELETED, record.reason or "Deleted in Eduframe.")
    if not record.exact_entry_id:
        return _settle(booking, State.DELETED, Outcome.DELETED, "Deleted in Eduframe; it was never booked in Exact.")
    booking.source = ErrorSource.EXACT
    booking.exact = exact_client_for(record.installation, counts_at_close=True)
    how, reversal = entry_remove(booking.exact, entry_division(record), record.exact_entry_id, record.number)
    booking.requests["reversal"] = jsonable(reversal)
    words = {
        "deleted": f"its entry {record.exact_entry_number} was deleted from Exact",
        "reversed": f"Exact refused to delete the processed entry {record.exact_entry_number}, so it was reversed "
        f"by an entry with YourRef {record.number}-R",
        "gone": f"its entry {record.exact_entry_number} was already gone from Exact",
    }
    booking.attempt.exact_entry_id = record.exact_entry_id
    record.exact_entry_id = None
    record.booked_fingerprint = ""
    _settle(booking, State.DELETED, Outcome.DELETED, f"Deleted in Eduframe: {words[how]}.")


def _settle(
    booking: Booking,
    state: InvoiceRecord.State,
    outcome: SyncAttempt.Outcome,
    reason: str,
    fix_hint: str = "",
    error_kind: InvoiceRecord.ErrorKind = InvoiceRecord.ErrorKind.NONE,
) -> None:
    record = booking.record
    record.state, record.reason, record.fix_hint = state, reason, fix_hint
    record.error_kind, record.next_retry_at = error_kind, None
    record.waiting_for = InvoiceRecord.WaitingFor.NOTHING
    if state != State.PENDING:
        record.retry_count = 0
    record_save(booking)
    _finish(booking, outcome, reason)


def _needs_attention(booking: Booking, problems) -> None:
    reason = " ".join(p.reason for p in problems)
    hint = " ".join(dict.fromkeys(p.fix_hint for p in problems))
    # One save of the record: its error kind goes with the rest.
    _settle(booking, State.NEEDS_ATTENTION, Outcome.FAILED, reason, hint, error_kind=InvoiceRecord.ErrorKind.FUNCTIONAL)
    booking.attempt.error_kind = InvoiceRecord.ErrorKind.FUNCTIONAL


def _booked(booking: Booking) -> None:
    record, entry = booking.record, booking.booked_entry
    record.exact_entry_id = entry.entry_id
    record.exact_entry_number = entry.entry_number
    record.exact_division = booking.division
    record.booked_fingerprint = booking.fingerprint
    record.booked_payload = {
        "entry": jsonable(booking.payload),
        "pdf_fingerprint": booking.pdf_fingerprint,
        "attachment_id": jsonable(booking.attachment_id),
        "invoice_digest": booking.invoice_digest,
    }
    record.booked_at = timezone.now()
    booking.attempt.exact_entry_id, booking.attempt.exact_entry_number = entry.entry_id, entry.entry_number
    booking.attempt.response = jsonable(
        {"EntryID": entry.entry_id, "EntryNumber": entry.entry_number, "Status": entry.status, "Type": entry.type}
    )
    _settle(booking, State.BOOKED, booking.outcome, booking.message)


def _fail(booking: Booking, error: SyncError) -> None:
    record = booking.record
    result = outcome_for(error, retry_count=record.retry_count, source=booking.source)
    record.state, record.error_kind, record.reason, record.fix_hint = (
        result.state,
        result.error_kind,
        result.reason,
        result.fix_hint,
    )
    record.next_retry_at, record.retry_count = result.next_retry_at, result.retry_count
    record.waiting_for = result.waiting_for
    record_save(booking)
    booking.attempt.error_kind = result.error_kind
    booking.attempt.exact_message = result.exact_message
    _finish(booking, Outcome.FAILED, result.reason)
    if isinstance(error, TokensUnreadable):
        from monitoring.signals import incidents_check_soon

        # The administrators hear of it at once (one mail per incident, however many invoices wait).
        incidents_check_soon(record.installation_id)


# Never saved by a booking: the claim and schedule belong to conditional UPDATEs of the lock and of the
# dispatcher (a request that came in while we worked must not be overwritten).
RECORD_SKIP = frozenset(
    {
        "id",
        "claimed_until",
        "claim_token",
        "claim_holder",
        "created_at",
        "due_at",
        "queued_at",
        "priority",
        "due_trigger",
    }
)


def record_save(booking: Booking) -> None:
    """Save what the booking changed on its record (never its claim or schedule fields), and `updated_at`."""
    record = booking.record
    fit_text_fields(record)
    changed = [name for name in changed_fields(record, booking.record_seen) if name not in RECORD_SKIP]
    row_update(record, [*changed, "updated_at"], booking.record_seen)


def _finish(booking: Booking, outcome: SyncAttempt.Outcome, message: str) -> None:
    booking.attempt.outcome = outcome
    booking.attempt.message = message
