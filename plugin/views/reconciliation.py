"""The reconciliation report page: pick a month, see the expected cost, run it, follow it, read it, export, repair."""

from __future__ import annotations

import re
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from plugin.decorators import installation_required
from plugin.reconciliation_chart import chart_build
from plugin.selectors import connection_get
from sync.models import InvoiceRecord
from sync.reconciliation_models import ReconciliationRun
from sync.services.reconciliation import reconciliation_book_again, reconciliation_estimate, reconciliation_request
from sync.services.reconciliation_export import difference_label, report_csv, report_from_json
from sync.services.reconciliation_recovery import reconciliation_runs_recover

PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
Status = ReconciliationRun.Status


def _period(text: str | None) -> tuple[int, int]:
    """The month asked for, else the current one."""
    match = PERIOD.match(text or "")
    if match is None:
        today = timezone.localdate()
        return today.year, today.month
    return int(match[1]), int(match[2])


def _run(request, run_id: int) -> ReconciliationRun:
    run = ReconciliationRun.objects.filter(installation=request.installation, pk=run_id).first()
    if run is None:
        raise Http404("No such report.")
    return run


def _page_url(year: int, month: int) -> str:
    return f"{reverse('reconciliation')}?period={year}-{month:02d}"


def _result_context(request, run: ReconciliationRun) -> dict:
    report = report_from_json(run.result or {})  # the caller shows only a run with a result
    numbers = {d.eduframe_invoice_id for d in report.differences if d.eduframe_invoice_id}
    records = dict(
        InvoiceRecord.objects.filter(installation=request.installation, eduframe_invoice_id__in=numbers).values_list(
            "eduframe_invoice_id", "pk"
        )
    )
    rows = [
        (d, difference_label(d), records.get(d.eduframe_invoice_id) if d.eduframe_invoice_id else None)
        for d in report.differences
    ]
    return {
        "report": report,
        "rows": rows,
        "chart": chart_build(report.months, report.month),
        "to_book_again": len(report.to_book_again),
        "gap": report.eduframe.incl - report.exact.incl,
    }


@require_GET
@installation_required
def reconciliation_page(request):
    year, month = _period(request.GET.get("period"))
    # A run whose worker died is shown failed, with why, instead of a bar that never moves.
    reconciliation_runs_recover(installation_id=request.installation.pk)
    run = ReconciliationRun.objects.filter(installation=request.installation, year=year, month=month).first()
    context = {
        "period": f"{year}-{month:02d}",
        "period_date": date(year, month, 1),
        "estimate": reconciliation_estimate(installation=request.installation, year=year),
        "connection": connection_get(installation=request.installation),
        "run": run,
    }
    if run is not None and run.status == Status.DONE and run.result:
        context.update(_result_context(request, run))
    return render(request, "plugin/reconciliation/report.html", context)


@require_POST
@installation_required
def reconciliation_start(request):
    year, month = _period(request.POST.get("period"))
    reconciliation_request(installation=request.installation, year=year, month=month)
    messages.info(request, f"The report of {year}-{month:02d} is being made.")
    return redirect(_page_url(year, month))


@require_GET
@installation_required
def reconciliation_progress(request, run_id: int):
    """Polled by the progress bar while the report runs (a run found abandoned answers "failed": the page reloads)."""
    reconciliation_runs_recover(installation_id=request.installation.pk)
    run = _run(request, run_id)
    return JsonResponse({"done": run.steps_done, "total": run.steps_total, "status": run.status})


@require_GET
@installation_required
def reconciliation_csv(request, run_id: int):
    run = _run(request, run_id)
    if run.status != Status.DONE or not run.result:
        raise Http404("This report is not finished.")
    response = HttpResponse(report_csv(report_from_json(run.result)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{run.period}.csv"'
    return response


@require_POST
@installation_required
def reconciliation_book_again_view(request, run_id: int):
    run = _run(request, run_id)
    count = reconciliation_book_again(run=run)
    messages.success(request, f"{count} invoice(s) will be booked again; the sync log shows how each went.")
    return redirect(_page_url(run.year, run.month))
