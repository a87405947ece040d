"""The JSON we post to Exact for a plan: codes resolved to Exact GUIDs where Exact wants GUIDs (GL accounts)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder

from sync.services.entry_plan import EntryPlan, PlannedLine, Problem
from sync.services.exact_text import line_description

HEADER_FIELDS = (
    "Journal",
    "Customer",
    "EntryDate",
    "DueDate",
    "YourRef",
    "Description",
    "PaymentReference",
    "Document",
)


def gl_ids_resolve(lookups, plan: EntryPlan) -> tuple[dict[str, UUID], list[Problem]]:
    """Map each ledger code of the plan to its GL account id (from the cached lookups), or name the unknown ones."""
    ids, problems = {}, []
    for code in sorted({line.ledger_code for line in plan.lines if line.ledger_code}):
        account = lookups.gl_account(code)
        if account is None:
            problems.append(
                Problem(
                    f"The ledger code '{code}' does not exist in Exact division {plan.division}.",
                    "Correct 'Ledger code' on the settings page, or on the course template or edition that uses it.",
                )
            )
        else:
            ids[code] = account.id
    return ids, problems


def with_vat_amount(row: dict, vat_amount) -> dict:
    """The line with our own VAT amount (totals to the cent), left out when it is zero.

    Exact refuses a VAT amount on a VAT code of the type "no VAT" ("Een btw bedrag is niet toegestaan als u
    gebruikmaakt van een btw-code van het type "geen btw"", ../shared/reference/exact-online-api.md §3.6), the code
    exempt education is usually booked on; without one Exact computes round(AmountFC x percentage), which is
    zero wherever ours is (we round each line the same way).
    """
    if vat_amount:
        row["VATAmountFC"] = vat_amount
    return row


def line_payload(line: PlannedLine, gl_id) -> dict:
    """One SalesEntryLines row: amounts excluding VAT, and our own VAT amount unless it is zero."""
    row = {
        "GLAccount": gl_id,
        "Description": line.description,
        "Quantity": line.quantity,
        "AmountFC": line.amount_fc,
        "VATCode": line.vat_code,
        "CostCenter": line.cost_center or None,
        "CostUnit": line.cost_unit or None,
    }
    return with_vat_amount(row, line.vat_amount_fc)


def entry_payload(
    plan: EntryPlan, *, gl_ids: dict[str, UUID], customer: UUID | str, document: UUID | str | None
) -> dict[str, Any]:
    """The POST body of the sales entry; `EntryNumber` is left to the journal's number range."""
    payload = {
        "Journal": plan.journal_code,
        "Customer": customer,
        "EntryDate": plan.entry_date,
        "DueDate": plan.due_date,
        "YourRef": plan.your_ref,
        "Description": plan.description,
        "PaymentReference": plan.payment_reference,
        "Document": document,
        "SalesEntryLines": [line_payload(line, gl_ids.get(line.ledger_code)) for line in plan.lines],
    }
    if payload["DueDate"] is None:
        del payload["DueDate"]
    return payload


class PayloadEncoder(DjangoJSONEncoder):
    """Django's encoder (Decimals as strings, dates ISO, UUIDs as text), but a datetime as `str()` writes it.

    The invoice digests and payloads stored on booked records were written so ("2026-01-05 10:00:00+00:00",
    full precision); Django's "Z" and milliseconds would make every stored digest differ once.
    """

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return str(o)
        return super().default(o)


def jsonable(value: Any) -> Any:
    """Make a payload storable in a JSONField and printable: the value as it reads back from JSON."""
    return json.loads(json.dumps(value, cls=PayloadEncoder))


def reversal_payload(entry, *, your_ref: str, entry_date: date) -> dict:
    """A sales entry that cancels `entry` line by line, dated in an open period (today)."""
    return {
        "Journal": entry.journal,
        "Customer": entry.customer,
        "EntryDate": entry_date,
        "YourRef": your_ref,
        "Description": line_description(f"Reversal of {entry.your_ref} (deleted or replaced in Eduframe)"),
        "SalesEntryLines": [
            with_vat_amount(
                {
                    "GLAccount": line.gl_account,
                    "Description": line.description,
                    "Quantity": line.quantity,
                    "AmountFC": -line.amount_fc,
                    "VATCode": line.vat_code or None,
                    "CostCenter": line.cost_center or None,
                    "CostUnit": line.cost_unit or None,
                },
                -line.vat_amount_fc,
            )
            for line in entry.lines
        ],
    }
