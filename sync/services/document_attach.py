"""The invoice PDF in Exact: one Document (Type 10) per invoice with exactly one attachment, `{number}.pdf`.

The document id is stored on the record, committed, as soon as Exact returns it, so a later failure never
makes a second document. A lost answer is recovered by looking the document up by its subject, and the
attachments by listing them, before anything is created again.
"""

from __future__ import annotations

from uuid import UUID

from sync.errors import AmbiguousError
from sync.models import InvoiceRecord

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
) -> tuple[UUID, dict | None]:
    """Return the invoice's document id, creating document and attachment when missing.

    `pdf` is a callable returning the PDF bytes (fetched only when an attachment is made); `sent_before` tells
    that an earlier attempt may have created what the record does not know yet. Returns the id and the fields
    of a document we created (for the attempt's log).
    """
    created_fields = None
    fresh = record.exact_document_id is None
    if fresh:
        fields = {"Subject": document_subject(number), "Type": SALES_DOCUMENT_TYPE, "Account": customer}
        document = _document_create(client, division, fields, look_first=sent_before)
        record.exact_document_id = document.id
        record.save(update_fields=["exact_document_id", "updated_at"])
        created_fields = fields
    file_name = f"{number}.pdf"
    # A document from an earlier attempt may already carry its attachment (the entry was not made yet).
    if not fresh or sent_before:
        existing = client.document_attachments(division, record.exact_document_id)
        if any(a.file_name == file_name for a in existing):
            return record.exact_document_id, created_fields
    _attachment_create(client, division, record.exact_document_id, file_name, pdf())
    return record.exact_document_id, created_fields


def attachment_replace(*, client, division: int, document_id: UUID, number: str, pdf) -> int:
    """Attach the new PDF, then delete every other attachment: after any failure a retry converges to one.

    Returns how many old attachments were left in place (always 0 once the deletes succeed).
    """
    existing = client.document_attachments(division, document_id)
    new = client.create_document_attachment(division, document_id=document_id, file_name=f"{number}.pdf", content=pdf())
    old = [attachment for attachment in existing if attachment.id != new.id]
    for attachment in old:
        client.delete_document_attachment(division, attachment.id)
    return 0
