"""The sync log: every invoice's state and reason, its attempts, retry, and a dry-run preview."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from monitoring.chart import calls_panel, invoices_panel
from monitoring.selectors import sync_activity
from plugin.decorators import installation_required
from plugin.selectors import connection_get, exact_entry_url
from sync.errors import SyncError
from sync.models import InvoiceRecord, SyncAttempt
from sync.selectors import booking_schedule, invoice_counts, invoice_get, invoice_list
from sync.services.account_decision import account_candidate_for
from sync.services.invoice_preview import invoice_preview
from sync.services.invoice_queue import invoice_enqueue, invoices_retry_attention

PER_PAGE = 50
# The invoice page shows this many attempts, newest first; an operator sees all of them in the admin.
ATTEMPTS_SHOWN = 25


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str) if value else ""


@require_GET
@installation_required
def log_list(request):
    installation = request.installation
    state = request.GET.get("state", "")
    state = state if state in InvoiceRecord.State.values else ""
    search = request.GET.get("q", "").strip()
    page = Paginator(invoice_list(installation=installation, state=state or None, search=search), PER_PAGE)
    connection = connection_get(installation=installation)
    records = page.get_page(request.GET.get("page"))
    schedule = booking_schedule(installation=installation)
    context = {
        "page": records,
        "rows": [
            (record, exact_entry_url(connection=connection, record=record), schedule.wait_for(record))
            for record in records
        ],
        "schedule": schedule,
        "state": state,
        "search": search,
        "states": InvoiceRecord.State.choices,
        "counts": invoice_counts(installation=installation),
    }
    activity = sync_activity(installation=installation)
    context.update(invoices_chart=invoices_panel(activity), calls_chart=calls_panel(activity))
    return render(request, "plugin/log/list.html", context)


@require_GET
@installation_required
def log_detail(request, record_id: int):
    """One invoice: its state, the link to its entry in Exact and its latest attempts, newest first."""
    record = invoice_get(installation=request.installation, record_id=record_id)
    all_attempts = SyncAttempt.objects.filter(invoice=record)
    attempts = [
        (attempt, _pretty(attempt.request_payload), _pretty(attempt.response))
        for attempt in all_attempts[:ATTEMPTS_SHOWN]
    ]
    context = {
        "record": record,
        "candidate": account_candidate_for(record),
        "attempts": attempts,
        "older_attempts": max(0, all_attempts.count() - ATTEMPTS_SHOWN),
        "exact_url": exact_entry_url(connection=connection_get(installation=request.installation), record=record),
    }
    return render(request, "plugin/log/detail.html", context)


@require_POST
@installation_required
def log_retry(request, record_id: int):
    record = invoice_get(installation=request.installation, record_id=record_id)
    invoice_enqueue(
        installation=request.installation,
        eduframe_invoice_id=record.eduframe_invoice_id,
        trigger=SyncAttempt.Trigger.MANUAL,
    )
    messages.success(request, f"Invoice {record.number or record.eduframe_invoice_id} will be tried again.")
    if request.POST.get("next") == "detail":
        return redirect("log-detail", record_id=record.pk)
    return redirect("sync-log")


@require_POST
@installation_required
def log_retry_all(request):
    count = invoices_retry_attention(installation=request.installation, trigger=SyncAttempt.Trigger.MANUAL)
    messages.success(request, f"{count} invoice(s) that needed attention will be tried again.")
    return redirect("sync-log")


@require_GET
@installation_required
def log_preview(request, invoice_id: int):
    try:
        preview = invoice_preview(installation=request.installation, eduframe_invoice_id=invoice_id)
    except SyncError as exc:
        messages.error(request, f"The preview could not be made: {exc.message}")
        return redirect("sync-log")
    context = {"invoice_id": invoice_id, "preview": preview, "payload": _pretty(preview.payload)}
    return render(request, "plugin/log/preview.html", context)
