"""The Exact writes of one booking: account, document and PDF, then the sales entry (create, update or replace).

Dedupe rule for the entry (the cheapest safe one): before POSTing an entry for a record without an entry id,
we look up `YourRef eq number` only when an earlier attempt of this record logged an entry request. Each
attempt logs its request (committed) *before* sending it, so a lost answer, a crash or a timeout always leaves
that trace, and a brand-new invoice costs no lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sync.errors import FunctionalError, NotFoundError
from sync.models import InvoiceRecord, SyncAttempt
from sync.services.account_match import account_after_refusal, account_ensure
from sync.services.booking_errors import is_refused_change
from sync.services.booking_inputs import pdf_fingerprint
from sync.services.document_attach import attachment_replace, document_ensure
from sync.services.entry_adopt import entry_ours_by_ref, entry_says_what_we_send
from sync.services.entry_payload import HEADER_FIELDS, entry_payload, jsonable
from sync.services.entry_plan import EntryPlan
from sync.services.entry_write import (
    PROCESSED,
    entry_create,
    entry_remove,
    entry_reverse,
    entry_update,
)

Outcome = SyncAttempt.Outcome


@dataclass(frozen=True)
class KnownEntry:
    """The entry as we booked it, when an update needs no read of it from Exact."""

    entry_id: UUID
    entry_number: int | None
    status: int | None = None
    type: int | None = None


@dataclass
class Booking:
    """What one attempt knows while it runs."""

    record: InvoiceRecord
    attempt: SyncAttempt
    source: str = "Eduframe"
    eduframe: object = None
    exact: object = None
    plan: EntryPlan | None = None
    fingerprint: str = ""
    pdf_fingerprint: str = ""
    gl_ids: dict = field(default_factory=dict)
    payload: dict | None = None
    entry: object = None
    outcome: str = Outcome.CREATED
    message: str = ""
    attachment_id: str | None = None
    invoice_digest: str = ""


def _log_request(booking: Booking, key: str, payload) -> None:
    """Store what we are about to send, committed, before sending it (the trace the dedupe rule reads)."""
    booking.attempt.request_payload[key] = jsonable(payload)
    booking.attempt.save(update_fields=["request_payload"])


def _sent_before(booking: Booking, key: str) -> bool:
    earlier = booking.record.attempts.exclude(pk=booking.attempt.pk)
    return earlier.filter(request_payload__has_key=key).exists()


def _retire_other_division(booking: Booking) -> None:
    """The division setting changed: remove the entry from the old division, then book afresh in the new one."""
    record = booking.record
    how, reversal = entry_remove(booking.exact, record.exact_division, record.exact_entry_id, record.number)
    if reversal:
        booking.attempt.request_payload["reversal"] = jsonable(reversal)
    record.exact_entry_id = record.exact_document_id = None
    record.booked_payload = None
    record.save(update_fields=["exact_entry_id", "exact_document_id", "booked_payload", "updated_at"])


def _document(booking: Booking, invoice, customer) -> None:
    record, plan = booking.record, booking.plan
    previous = record.booked_payload or {}
    booking.pdf_fingerprint = pdf_fingerprint(plan)

    def pdf() -> bytes:
        return booking.eduframe.invoice_pdf(invoice.id)

    if record.exact_document_id is None or record.exact_entry_id is None:
        sent = record.exact_document_id is None and _sent_before(booking, "document")
        if record.exact_document_id is None:
            _log_request(booking, "document", {"Subject": f"Eduframe invoice {plan.your_ref}", "Type": 10})
        booking.attachment_id = document_ensure(
            client=booking.exact,
            record=record,
            division=plan.division,
            number=plan.your_ref,
            customer=customer,
            pdf=pdf,
            sent_before=sent,
        )
    elif previous.get("pdf_fingerprint") != booking.pdf_fingerprint:
        _log_request(booking, "attachment", {"FileName": f"{plan.your_ref}.pdf", "replaces": "the previous PDF"})
        booking.attachment_id, left = attachment_replace(
            client=booking.exact,
            division=plan.division,
            document_id=record.exact_document_id,
            number=plan.your_ref,
            pdf=pdf,
            old_attachment_id=previous.get("attachment_id") if _replaces_finished(booking) else None,
        )
        booking.attempt.request_payload["attachment"]["old_attachments_left"] = left
    else:
        booking.attachment_id = previous.get("attachment_id")


def _replaces_finished(booking: Booking) -> bool:
    """Whether every earlier PDF replacement finished: after one that did not, the list is read, not trusted."""
    earlier = booking.record.attempts.exclude(pk=booking.attempt.pk).filter(request_payload__has_key="attachment")
    last = earlier.order_by("-id").first()
    return last is None or last.outcome in (Outcome.CREATED, Outcome.UPDATED)


def _create(booking: Booking) -> None:
    _log_request(booking, "entry", booking.payload)
    booking.entry = entry_create(booking.exact, booking.plan.division, booking.payload)
    booking.outcome = Outcome.CREATED
    booking.message = f"Booked as entry {booking.entry.entry_number} in division {booking.plan.division}."


def _replace(booking: Booking, current) -> None:
    """Exact refuses to change the entry in place: remove it (reverse it when it cannot be deleted), book anew."""
    record, division = booking.record, booking.plan.division
    if current.status == PROCESSED:
        how, reversal = "reversed", entry_reverse(booking.exact, division, current, record.number)
    else:
        how, reversal = entry_remove(booking.exact, division, current.entry_id, record.number)
    if reversal:
        booking.attempt.request_payload["reversal"] = jsonable(reversal)
    # Forget the old entry at once (committed), so a failure below never removes or reverses it twice.
    record.exact_entry_id = None
    record.save(update_fields=["exact_entry_id", "updated_at"])
    _create(booking)
    booking.outcome = Outcome.UPDATED
    words = f"reversed ({record.number}-R)" if how == "reversed" else "deleted"
    booking.message = (
        f"Entry {current.entry_number} could not be changed in place, so it was {words} "
        f"and the invoice booked again as entry {booking.entry.entry_number}."
    )


def _adopt_processed(booking: Booking, current) -> None:
    """Our entry, found by YourRef, already processed by the accountant and as we would send it: keep it."""
    _log_request(booking, "entry", booking.payload)
    booking.entry = current
    booking.outcome = Outcome.CREATED
    booking.message = (
        f"Found entry {current.entry_number} by YourRef, already processed in Exact and as planned: "
        "adopted, not booked again."
    )


def _update(booking: Booking, current) -> None:
    division = booking.plan.division
    if current.status == PROCESSED and not booking.record.exact_entry_id:
        previous = (booking.record.booked_payload or {}).get("entry")
        if entry_says_what_we_send(current, booking.payload, previous):
            return _adopt_processed(booking, current)
    if current.status == PROCESSED or current.journal != booking.payload["Journal"]:
        return _replace(booking, current)  # known to be refused: spare Exact's error budget
    previous = (booking.record.booked_payload or {}).get("entry")
    try:
        writes = entry_update(booking.exact, division, current, booking.payload, previous)
    except FunctionalError as error:
        if not is_refused_change(error):
            raise
        booking.attempt.exact_message = error.message
        return _replace(booking, current)
    _log_request(booking, "entry", booking.payload)
    booking.entry = current
    booking.outcome = Outcome.UPDATED
    booking.message = f"Entry {current.entry_number} updated in place ({writes} change(s) sent to Exact)."


def invoice_entry_book(booking: Booking, invoice) -> None:
    """Make Exact hold exactly one live entry for the invoice, as planned, with its PDF."""
    record, plan, exact = booking.record, booking.plan, booking.exact
    if record.exact_entry_id and record.exact_division != plan.division:
        _retire_other_division(booking)
    account = {
        "client": exact,
        "installation": record.installation,
        "division": plan.division,
        "account_fields": plan.account.exact_fields(),
        "eduframe_account_id": plan.eduframe_account_id,
    }
    customer = account_ensure(**account)
    booking.attempt.request_payload["account"] = account["account_fields"]
    try:
        _document_and_entry(booking, invoice, customer)
    except FunctionalError as error:
        # A merged or deleted Exact account is paid for only when Exact refuses it: re-match, retry once.
        _document_and_entry(booking, invoice, account_after_refusal(**account, error=error))


def _document_and_entry(booking: Booking, invoice, customer) -> None:
    record, plan, exact = booking.record, booking.plan, booking.exact
    _document(booking, invoice, customer)
    booking.payload = entry_payload(plan, gl_ids=booking.gl_ids, customer=customer, document=record.exact_document_id)
    if _update_from_what_we_sent(booking):
        return
    current = None
    if record.exact_entry_id:
        current = exact.get_sales_entry(plan.division, record.exact_entry_id)
    elif _sent_before(booking, "entry"):
        current = entry_ours_by_ref(exact, plan.division, plan.your_ref)
    if current is None:
        return _create(booking)
    _update(booking, current)


def _update_from_what_we_sent(booking: Booking) -> bool:
    """Update the header in place from what we last sent, without reading the entry: 1 call, or none.

    Only when the lines are as we sent them and the journal is the same (a line change needs the line ids,
    read with the entry; a journal change replaces the entry). An entry gone from Exact is booked anew; one
    Exact refuses to change (processed, closed period) is read and replaced. Returns False to take the road
    that reads the entry first.
    """
    record, payload = booking.record, booking.payload
    previous = (record.booked_payload or {}).get("entry")
    if not (record.exact_entry_id and previous) or record.exact_division != booking.plan.division:
        return False
    sent = jsonable(payload)
    if sent.get("SalesEntryLines") != previous.get("SalesEntryLines") or sent.get("Journal") != previous.get("Journal"):
        return False
    changes = {f: payload[f] for f in HEADER_FIELDS if f in payload and sent[f] != previous.get(f)}
    if "Customer" in changes and payload.get("PaymentReference"):
        # Exact regenerates the payment reference when Customer changes: send ours along.
        changes["PaymentReference"] = payload["PaymentReference"]
    try:
        if changes:
            booking.exact.update_sales_entry(booking.plan.division, record.exact_entry_id, changes)
    except NotFoundError:
        record.exact_entry_id = None  # removed in Exact by hand: the invoice is booked again
        record.save(update_fields=["exact_entry_id", "updated_at"])
        _create(booking)
        return True
    except FunctionalError as error:
        if not is_refused_change(error):
            raise
        booking.attempt.exact_message = error.message
        current = booking.exact.get_sales_entry(booking.plan.division, record.exact_entry_id)
        if current is None:
            raise
        _replace(booking, current)
        return True
    _log_request(booking, "entry", payload)
    booking.entry = KnownEntry(record.exact_entry_id, record.exact_entry_number)
    booking.outcome = Outcome.UPDATED
    booking.message = (
        f"Entry {record.exact_entry_number} updated in place ({len(changes) and 1} change(s) sent to Exact)."
    )
    return True
