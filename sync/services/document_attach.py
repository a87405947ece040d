"""The invoice PDF in Exact: one Document (Type 10) per invoice with exactly one attachment, `{number}.pdf`.

The document id is stored on the record, committed, as soon as Exact returns it, so a later failure never
makes a second document. A lost answer is recovered by looking the document up by its subject, and the
attachments by listing them, before anything is created again.
"""

from __future__ import annotations

from uuid import UUID

from sync.errors import AmbiguousError, NotFoundError
from sync.models import InvoiceRecord
from sync.services.row_save import row_update

SALES_DOCUMENT_TYPE = 10


def document_subject(number: str) -> str:
    """Return the subject we give the invoice's document (unique per invoice number)."""
    return f"Eduframe invoice {number}"


def _document_create(client, division: int, fields: dict, *, look_first: bool):
    if look_first:
        found = client.find_documents(division, subject=fields["Subject"])
        if len(found) == 1:
            return found[0]
    try:
        return client.create_document(division, fields)
    except AmbiguousError:
        found = client.find_documents(division, subject=fields["Subject"])
        if len(found) != 1:
            raise
        return found[0]


def _attachment_create(client, division: int, document_id: UUID, file_name: str, content: bytes):
    try:
        return client.create_document_attachment(
            division, document_id=document_id, file_name=file_name, content=content
        )
    except AmbiguousError:
        found = [a for a in client.document_attachments(division, document_id) if a.file_name == file_name]
        if not found:
            raise
        return found[0]


def document_ensure(
    *, client, record: InvoiceRecord, division: int, number: str, customer, pdf, sent_before: bool
) -> UUID | None:
    """Make sure the invoice's document exists with its attachment; return the attachment's id when known.

    `pdf` is a callable returning the PDF bytes (fetched only when an attachment is made); `sent_before` tells
    that an earlier attempt may have created what the record does not know yet.
    """
    document_id = record.exact_document_id
    fresh = document_id is None
    if document_id is None:
        fields = {"Subject": document_subject(number), "Type": SALES_DOCUMENT_TYPE, "Account": customer}
        document = _document_create(client, division, fields, look_first=sent_before)
        record.exact_document_id = document_id = document.id
        row_update(record, ["exact_document_id", "updated_at"])
    file_name = f"{number}.pdf"
    # A document from an earlier attempt may already carry its attachment (the entry was not made yet).
    if not fresh or sent_before:
        existing = [a for a in client.document_attachments(division, document_id) if a.file_name == file_name]
        if existing:
            return existing[0].id
    return _attachment_create(client, division, document_id, file_name, pdf()).id


def attachment_replace(
    *, client, division: int, document_id: UUID, number: str, pdf, old_attachment_id: str | None = None
) -> tuple[UUID, int]:
    """Attach the new PDF, then delete the old one(s): after any failure a retry converges to one.

    With the old attachment's id known (kept at booking) that is 2 calls; else the list is read first.
    Returns the new attachment's id and how many old attachments were left in place (0 once deletes succeed).
    """
    if old_attachment_id:
        old_ids = [UUID(str(old_attachment_id))]
    else:
        old_ids = [attachment.id for attachment in client.document_attachments(division, document_id)]
    new = client.create_document_attachment(division, document_id=document_id, file_name=f"{number}.pdf", content=pdf())
    for attachment_id in old_ids:
        if attachment_id != new.id:
            try:
                client.delete_document_attachment(division, attachment_id)
            except NotFoundError:
                pass  # already gone (removed by hand in Exact): nothing left to delete
    return new.id, 0
