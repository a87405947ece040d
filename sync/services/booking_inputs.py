"""Gather what the pure mapping needs for one invoice: Eduframe reads, settings, overrides, VAT mapping, lookups."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from plugin.models import GlobalSettings, Installation, VatMapping
from plugin.selectors import overrides_get, settings_get
from sync.compiled_read import CompiledRead
from sync.connections.exact import exact_lookups
from sync.eduframe.client import EduframeClient
from sync.eduframe.entities import Invoice
from sync.errors import FunctionalError
from sync.exact.client import ExactClient
from sync.exact.lookups import ExactLookups
from sync.services.entry_plan import EntryPlan, entry_plan_build

_VAT_MAPPINGS = CompiledRead(
    lambda installation_id: VatMapping.objects.filter(installation_id=installation_id).exclude(exact_vat_code="")
)


def vat_mappings_get(*, installation: Installation) -> dict[int, str]:
    """Return the administrator's chosen Exact VAT code per Eduframe VAT rate (blank rows: by percentage)."""
    rows = _VAT_MAPPINGS.rows(installation.pk)  # every booking reads them: compiled once (sync/compiled_read.py)
    return {row.eduframe_vat_id: row.exact_vat_code.strip() for row in rows}


def lookups_for(*, exact: ExactClient, installation: Installation, division: int | None) -> ExactLookups | None:
    """Return the cached lookups of the division, or None when no division is set yet."""
    return exact_lookups(exact, installation=installation, division=division) if division else None


def plan_for_invoice(
    *,
    installation: Installation,
    eduframe: EduframeClient,
    lookups: ExactLookups | None,
    invoice: Invoice,
    global_settings: GlobalSettings | None = None,
) -> EntryPlan:
    """Read the invoice's account, VAT rates and courses, and map it all to an EntryPlan.

    `global_settings`: the row the caller already read for this booking (read here when not given).
    """
    global_settings = global_settings or settings_get(installation=installation)
    account = eduframe.get_account(invoice.account_id) if invoice.account_id is not None else None
    if account is None:
        raise FunctionalError(f"The invoice's account {invoice.account_id} does not exist in Eduframe.")
    items = list(invoice.items)
    mappings = vat_mappings_get(installation=installation)
    # The Exact VAT codes are only needed for rates without a mapping (a cached lookup, usually no call).
    unmapped = any(item.invoice_vat_id not in mappings for item in items)
    reference = eduframe.reference
    return entry_plan_build(
        invoice=invoice,
        account=account,
        vat_number=reference.vat_number_of(account) or "",
        vat_rates={rate.id: rate for rate in reference.invoice_vats_with({item.invoice_vat_id for item in items})},
        item_courses={item.id: reference.item_course(item) for item in items if item.catalog_variant_id},
        global_settings=global_settings,
        overrides=overrides_get(installation=installation),
        vat_mappings=mappings,
        sales_vat_codes=lookups.sales_vat_codes() if lookups is not None and unmapped else [],
    )


def pdf_fingerprint(plan: EntryPlan) -> str:
    """Hash what the invoice PDF shows (not the Exact codes): a change means a new attachment."""
    shown = {
        "header": [str(plan.entry_date), str(plan.due_date), plan.your_ref, plan.description, plan.payment_reference],
        "account": asdict(plan.account),
        "lines": [
            [line.description, str(line.quantity), str(line.amount_fc), str(line.vat_amount_fc)] for line in plan.lines
        ],
        "pdf": plan.pdf_fields,
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()
