"""The entry an invoice would become, without writing anything to Exact (the UI's preview, `--dry-run`).

Only GETs: the Eduframe invoice and its relations, and Exact lookups (from the cache when fresh). Ids Exact
would assign are shown as placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from plugin.selectors import settings_get
from sync.connections.eduframe import eduframe_client
from sync.connections.exact import exact_client_for
from sync.errors import SyncError
from sync.models import AccountLink, InvoiceRecord
from sync.services.booking_inputs import lookups_for, plan_for_invoice
from sync.services.entry_payload import entry_payload, gl_ids_resolve, jsonable
from sync.services.entry_plan import EntryPlan, Problem

NEW_ACCOUNT = "<new account>"
NEW_DOCUMENT = "<new document>"


@dataclass(frozen=True)
class EntryPreview:
    """The plan, the JSON that would be posted, the decisions per line, and what stops the booking."""

    plan: EntryPlan | None
    payload: dict | None
    decisions: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _known_ids(installation, plan: EntryPlan) -> tuple[UUID | str, UUID | str]:
    """The account and document ids we already know (unverified: a preview makes no extra call)."""
    link = AccountLink.objects.filter(
        installation=installation, eduframe_account_id=plan.eduframe_account_id, exact_division=plan.division
    ).first()
    record = InvoiceRecord.objects.filter(
        installation=installation, eduframe_invoice_id=plan.eduframe_invoice_id, exact_division=plan.division
    ).first()
    customer = link.exact_account_id if link and link.exact_account_id else NEW_ACCOUNT
    document = record.exact_document_id if record and record.exact_document_id else NEW_DOCUMENT
    return customer, document


def _lookups(installation, division, problems: list[Problem]):
    try:
        return lookups_for(exact=exact_client_for(installation), installation=installation, division=division)
    except SyncError as error:
        problems.append(Problem(error.message, "Connect Exact Online on the settings page."))
        return None


def invoice_preview(*, installation, eduframe_invoice_id: int) -> EntryPreview:
    """Return the entry that `invoice_sync` would post for this invoice now, with its decisions and problems."""
    eduframe = eduframe_client(installation)
    invoice = eduframe.get_invoice(eduframe_invoice_id)
    if invoice is None:
        return EntryPreview(None, None, [], [Problem("The invoice does not exist in Eduframe (any more).", "")])
    problems: list[Problem] = []
    if invoice.status == "concept":
        problems.append(Problem("Concept invoice: booked once it is opened.", ""))
    division = settings_get(installation=installation).division
    lookups = _lookups(installation, division, problems)
    plan = plan_for_invoice(installation=installation, eduframe=eduframe, lookups=lookups, invoice=invoice)
    problems.extend(plan.problems)
    gl_ids: dict[str, UUID] = {}
    if lookups is not None and not plan.problems:
        gl_ids, unknown = gl_ids_resolve(lookups, plan)
        problems.extend(unknown)
    customer, document = _known_ids(installation, plan)
    payload = entry_payload(plan, gl_ids=gl_ids, customer=customer, document=document)
    return EntryPreview(plan, jsonable(payload), jsonable(plan.decisions), problems)
