"""The Exact writes of one booking: account, document and PDF, then the sales entry (create, update or replace).

Dedupe rule for the entry (the cheapest safe one): before POSTing an entry for a record without an entry id,
we look up `YourRef eq number` only when an earlier attempt of this record logged an entry request. Each
attempt logs its request (committed) *before* sending it, so a lost answer, a crash or a timeout always leaves
that trace, and a brand-new invoice costs no lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import Count, Q

from sync.eduframe.client import EduframeClient
from sync.eduframe.entities import Invoice
from sync.errors import FunctionalError, NotFoundError
from sync.exact.client import ExactClient
from sync.exact.entities import SalesEntry
from sync.models import AccountLink, InvoiceRecord, SyncAttempt
from sync.services.account_match import account_after_refusal, account_ensure
from sync.services.booking_errors import ErrorSource, is_refused_change
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
from sync.services.row_save import row_update, values_seen

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
    # Whom the booking talks to when an error comes: Eduframe until the Exact client is opened.
    source: ErrorSource = ErrorSource.EDUFRAME
    eduframe: EduframeClient | None = None
    exact: ExactClient | None = None
    plan: EntryPlan | None = None
    fingerprint: str = ""
    pdf_fingerprint: str = ""
    gl_ids: dict[str, UUID] = field(default_factory=dict)
    # The entry as we send it (Exact's field names), set once the account and the document are known.
    payload: dict[str, Any] = field(default_factory=dict)
    entry: KnownEntry | SalesEntry | None = None
    outcome: SyncAttempt.Outcome = Outcome.CREATED
    message: str = ""
    # A UUID when this attempt made the attachment, the stored text when it kept the one booked before.
    attachment_id: UUID | str | None = None
    invoice_digest: str = ""
    # Which of the logged steps ("document", "entry") an earlier attempt of this invoice sent: read once.
    earlier_sent: frozenset[str] | None = None
    # The invoice's account link as read for the budget check (None: no link yet), used again by the account step.
    account_link: AccountLink | None = None
    # The record's and the attempt's columns as read or last written: their saves send only what changed.
    record_seen: dict[str, Any] = field(default_factory=dict)
    attempt_seen: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.record_seen = self.record_seen or values_seen(self.record)
        self.attempt_seen = self.attempt_seen or values_seen(self.attempt)

    # The Exact writes run only after the plan is made and the Exact client opened: these say so in types.
    @property
    def planned(self) -> EntryPlan:
        if self.plan is None:
            raise RuntimeError("The booking has no plan yet.")
        return self.plan

    @property
    def division(self) -> int:
        """The plan's division: a plan without one has a problem and never reaches Exact."""
        if self.planned.division is None:
            raise RuntimeError("The booking's plan has no division.")
        return self.planned.division

    @property
    def requests(self) -> dict[str, Any]:
        """What this attempt sent to Exact, by step (the attempt is created with an empty dict)."""
        if self.attempt.request_payload is None:
            self.attempt.request_payload = {}
        return self.attempt.request_payload

    @property
    def exact_client(self) -> ExactClient:
        if self.exact is None:
            raise RuntimeError("The booking has no Exact client yet.")
        return self.exact

    @property
    def eduframe_client(self) -> EduframeClient:
        if self.eduframe is None:
            raise RuntimeError("The booking has no Eduframe client yet.")
        return self.eduframe

    @property
    def booked_entry(self) -> KnownEntry | SalesEntry:
        if self.entry is None:
            raise RuntimeError("The booking has no entry yet.")
        return self.entry


def entry_division(record: InvoiceRecord) -> int:
    """The division of the record's booked entry (saved together with the entry id)."""
    if record.exact_division is None:
        raise RuntimeError(f"Invoice record {record.pk} has an Exact entry without a division.")
    return record.exact_division


def _log_request(booking: Booking, key: str, payload) -> None:
    """Store what we are about to send, committed, before sending it (the trace the dedupe rule reads)."""
    booking.requests[key] = jsonable(payload)
    row_update(booking.attempt, ["request_payload"], booking.attempt_seen)


# The steps whose request an earlier attempt may have sent without hearing the answer.
LOGGED_STEPS = ("document", "entry")


def _sent_before(booking: Booking, key: str) -> bool:
    """Whether an earlier attempt logged `key`'s request. One query answers for every step, once per booking:
    the claim keeps any other attempt of this invoice from logging meanwhile."""
    if booking.earlier_sent is None:
        earlier = booking.record.attempts.exclude(pk=booking.attempt.pk)
        counts = earlier.aggregate(
            **{step: Count("pk", filter=Q(request_payload__has_key=step)) for step in LOGGED_STEPS}
        )
        booking.earlier_sent = frozenset(step for step, seen in counts.items() if seen)
    return key in booking.earlier_sent


def _retire_other_division(booking: Booking) -> None:
    """The division setting changed: remove the entry from the old division, then book afresh in the new one."""
    record = booking.record
    how, reversal = entry_remove(booking.exact_client, entry_division(record), record.exact_entry_id, record.number)
    if reversal:
        booking.requests["reversal"] = jsonable(reversal)
    record.exact_entry_id = record.exact_document_id = None
    record.booked_payload = None
    row_update(record, ["exact_entry_id", "exact_document_id", "booked_payload", "updated_at"], booking.record_seen)


def _document(booking: Booking, invoice: Invoice, customer: UUID) -> None:
    record, plan = booking.record, booking.planned
    previous = record.booked_payload or {}
    booking.pdf_fingerprint = pdf_fingerprint(plan)

    def pdf() -> bytes:
        return booking.eduframe_client.invoice_pdf(invoice.id)

    if record.exact_document_id is None or record.exact_entry_id is None:
        sent = record.exact_document_id is None and _sent_before(booking, "document")
        if record.exact_document_id is None:
            _log_request(booking, "document", {"Subject": f"Eduframe invoice {plan.your_ref}", "Type": 10})
        booking.attachment_id = document_ensure(
            client=booking.exact_client,
            record=record,
            division=booking.division,
            number=plan.your_ref,
            customer=customer,
            pdf=pdf,
            sent_before=sent,
        )
    elif previous.get("pdf_fingerprint") != booking.pdf_fingerprint:
        _log_request(booking, "attachment", {"FileName": f"{plan.your_ref}.pdf", "replaces": "the previous PDF"})
        booking.attachment_id, left = attachment_replace(
            client=booking.exact_client,
            division=booking.division,
            document_id=record.exact_document_id,
            number=plan.your_ref,
            pdf=pdf,
            old_attachment_id=previous.get("attachment_id") if _replaces_finished(booking) else None,
        )
        booking.requests["attachment"]["old_attachments_left"] = left
    else:
        booking.attachment_id = previous.get("attachment_id")


def _replaces_finished(booking: Booking) -> bool:
    """Whether every earlier PDF replacement finished: after one that did not, the list is read, not trusted."""
    earlier = booking.record.attempts.exclude(pk=booking.attempt.pk).filter(request_payload__has_key="attachment")
    last = earlier.order_by("-id").first()
    return last is None or last.outcome in (Outcome.CREATED, Outcome.UPDATED)


def _create(booking: Booking) -> None:
    _log_request(booking, "entry", booking.payload)
    booking.entry = entry_create(booking.exact_client, booking.division, booking.payload)
    booking.outcome = Outcome.CREATED
    booking.message = f"Booked as entry {booking.booked_entry.entry_number} in division {booking.division}."


def _replace(booking: Booking, current: SalesEntry) -> None:
    """Exact refuses to change the entry in place: remove it (reverse it when it cannot be deleted), book anew."""
    record, division = booking.record, booking.division
    if current.status == PROCESSED:
        reversal: dict | None
        how, reversal = "reversed", entry_reverse(booking.exact_client, division, current, record.number)
    else:
        how, reversal = entry_remove(booking.exact_client, division, current.entry_id, record.number)
    if reversal:
        booking.requests["reversal"] = jsonable(reversal)
    # Forget the old entry at once (committed), so a failure below never removes or reverses it twice.
    record.exact_entry_id = None
    row_update(record, ["exact_entry_id", "updated_at"], booking.record_seen)
    _create(booking)
    booking.outcome = Outcome.UPDATED
    words = f"reversed ({record.number}-R)" if how == "reversed" else "deleted"
    booking.message = (
        f"Entry {current.entry_number} could not be changed in place, so it was {words} "
        f"and the invoice booked again as entry {booking.booked_entry.entry_number}."
    )


def _adopt_processed(booking: Booking, current: SalesEntry) -> None:
    """Our entry, found by YourRef, already processed by the accountant and as we would send it: keep it."""
    _log_request(booking, "entry", booking.payload)
    booking.entry = current
    booking.outcome = Outcome.CREATED
    booking.message = (
        f"Found entry {current.entry_number} by YourRef, already processed in Exact and as planned: "
        "adopted, not booked again."
    )


def _update(booking: Booking, current: SalesEntry) -> None:
    division = booking.division
    if current.status == PROCESSED and not booking.record.exact_entry_id:
        previous = (booking.record.booked_payload or {}).get("entry")
        if entry_says_what_we_send(current, booking.payload, previous):
            return _adopt_processed(booking, current)
    if current.status == PROCESSED or current.journal != booking.payload["Journal"]:
        return _replace(booking, current)  # known to be refused: spare Exact's error budget
    previous = (booking.record.booked_payload or {}).get("entry")
    try:
        writes = entry_update(booking.exact_client, division, current, booking.payload, previous)
    except FunctionalError as error:
        if not is_refused_change(error):
            raise
        booking.attempt.exact_message = error.message
        return _replace(booking, current)
    _log_request(booking, "entry", booking.payload)
    booking.entry = current
    booking.outcome = Outcome.UPDATED
    booking.message = f"Entry {current.entry_number} updated in place ({writes} change(s) sent to Exact)."


def invoice_entry_book(booking: Booking, invoice: Invoice) -> None:
    """Make Exact hold exactly one live entry for the invoice, as planned, with its PDF."""
    record, plan, exact = booking.record, booking.planned, booking.exact_client
    if record.exact_entry_id and record.exact_division != booking.division:
        _retire_other_division(booking)
    account_fields = plan.account.exact_fields()
    customer = account_ensure(
        client=exact,
        installation=record.installation,
        division=booking.division,
        account_fields=account_fields,
        eduframe_account_id=plan.eduframe_account_id,
        link=booking.account_link,
        link_read=True,  # by the booking, for its budget check
    )
    booking.requests["account"] = account_fields
    try:
        _document_and_entry(booking, invoice, customer)
    except FunctionalError as error:
        # A merged or deleted Exact account is paid for only when Exact refuses it: re-match, retry once.
        customer = account_after_refusal(
            client=exact,
            installation=record.installation,
            division=booking.division,
            account_fields=account_fields,
            eduframe_account_id=plan.eduframe_account_id,
            error=error,
        )
        _document_and_entry(booking, invoice, customer)


def _document_and_entry(booking: Booking, invoice: Invoice, customer: UUID) -> None:
    record, plan, exact = booking.record, booking.planned, booking.exact_client
    _document(booking, invoice, customer)
    booking.payload = entry_payload(plan, gl_ids=booking.gl_ids, customer=customer, document=record.exact_document_id)
    if _update_from_what_we_sent(booking):
        return
    current = None
    if record.exact_entry_id:
        current = exact.get_sales_entry(booking.division, record.exact_entry_id)
    elif _sent_before(booking, "entry"):
        current = entry_ours_by_ref(exact, booking.division, plan.your_ref)
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
    if not (record.exact_entry_id and previous) or record.exact_division != booking.division:
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
            booking.exact_client.update_sales_entry(booking.division, record.exact_entry_id, changes)
    except NotFoundError:
        record.exact_entry_id = None  # removed in Exact by hand: the invoice is booked again
        row_update(record, ["exact_entry_id", "updated_at"], booking.record_seen)
        _create(booking)
        return True
    except FunctionalError as error:
        if not is_refused_change(error):
            raise
        booking.attempt.exact_message = error.message
        current = booking.exact_client.get_sales_entry(booking.division, record.exact_entry_id)
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
