"""The settings page: the Exact connection's health, the global settings, the VAT mapping."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from monitoring.forms import FIELD as ALERT_FIELD
from monitoring.forms import AlertSettingsForm
from monitoring.services.alert_settings import alert_emails_get, alert_emails_save
from plugin.decorators import installation_required
from plugin.forms import GlobalSettingsForm, VatMappingForm
from plugin.selectors import connection_get, settings_get, vat_mappings_get, vat_suggestions
from plugin.services.audit import audit_record, changes_summary
from plugin.services.exact_checks import CodeChecker, ExactUnavailable
from plugin.services.key_check import keys_disagree
from plugin.services.settings_save import (
    GlobalValues,
    global_settings_check,
    global_settings_save,
    sync_from_moves_back,
    vat_mapping_save,
)
from sync.connections.eduframe import eduframe_client
from sync.errors import SyncError
from sync.selectors import backfill_progress
from sync.services.reconcile import SyncFromEstimate, sync_from_estimate

# Before the first save, `Sync from` proposes a week back: the Eduframe article recommends starting with a
# few days to check the connection, and an administrator who fills in only the codes can still save.
SYNC_FROM_PROPOSED_DAYS = 7


def _stored(row) -> dict:
    fields = ("division", "sync_from", "ledger_code", "journal_code", "discount_ledger_code")
    return {field: getattr(row, field) for field in fields}


def _initial(row) -> dict:
    initial = _stored(row)
    if initial["sync_from"] is None:
        initial["sync_from"] = _proposed_sync_from()
    return initial


def _proposed_sync_from() -> date:
    return timezone.localdate() - timedelta(days=SYNC_FROM_PROPOSED_DAYS)


@require_http_methods(["GET", "POST"])
@installation_required
def settings_page(request):
    installation = request.installation
    row = settings_get(installation=installation)
    form = GlobalSettingsForm(request.POST or None, initial=_initial(row))
    alert_form = AlertSettingsForm(
        request.POST if ALERT_FIELD in request.POST else None,
        initial={ALERT_FIELD: alert_emails_get(installation=installation)},
    )
    alerts_ok = not alert_form.is_bound or _save_alerts(request, alert_form)
    if request.method == "POST" and form.is_valid() and alerts_ok:
        response = _save(request, form)
        if response is not None:
            return response
    connection = connection_get(installation=installation)
    context = {
        "form": form,
        "alert_form": alert_form,
        "settings_row": row,
        "connection": connection,
        "keys_disagree": keys_disagree(installation=installation, connection=connection),
        "backfill": _backfill(installation, row),
    }
    return render(request, "plugin/settings/settings.html", context)


def _save_alerts(request, alert_form) -> bool:
    """Save the `Alert e-mail` addresses (they need no check against Exact); False when one is not valid."""
    if not alert_form.is_valid():
        return False
    if alert_emails_save(installation=request.installation, addresses=alert_form.cleaned_data[ALERT_FIELD]):
        messages.success(request, "Alert e-mail saved.")
    return True


def _save(request, form):
    """Check against Exact, save; None means: show the form again.

    A `Sync from` further back takes effect at once, as the Eduframe article has administrators do once the first
    days look right; its cost was shown beside the field as the date was picked (`sync_from_estimate_json`), and
    the saved message says it again.
    """
    values = GlobalValues(**form.cleaned_data)
    try:
        problems = global_settings_check(installation=request.installation, values=values)
    except ExactUnavailable as exc:
        messages.error(request, exc.message)
        return None
    for field, message in problems.items():
        form.add_error(field, message)
    if problems:
        return None
    _, moved_back = _moving_back(request.installation, values.sync_from, "Sync from moved back to")
    before = _stored(settings_get(installation=request.installation))
    global_settings_save(installation=request.installation, values=values)
    summary = changes_summary(_labelled(form, before), _labelled(form, form.cleaned_data))
    audit_record(request=request, action="Settings saved", summary=summary)
    messages.success(request, " ".join(filter(None, ["Settings saved.", moved_back, RETRIED])))
    return redirect("settings")


RETRIED = "Invoices that needed attention are tried again."


def _labelled(form, values: dict) -> dict:
    """The values keyed by the form's labels, as the audit log shows them."""
    return {form.fields[name].label or name: values.get(name) for name in form.fields if name in values}


def _moving_back(installation, new_date: date | None, lead: str) -> tuple[SyncFromEstimate | None, str]:
    """What moving `Sync from` back to `new_date` adds, and that in words after `lead`; (None, "") when it does not
    move back. The one wording for the note beside the form and the saved message."""
    if new_date is None or not sync_from_moves_back(installation=installation, new_date=new_date):
        return None, ""
    try:
        estimate = sync_from_estimate(installation=installation, new_date=new_date)
    except SyncError as exc:
        return None, f"{lead} {new_date:%-d %b %Y}; what it adds could not be estimated: {exc.message}"
    return estimate, f"{lead} {new_date:%-d %b %Y}: {_estimate_words(estimate)}"


def _estimate_words(estimate) -> str:
    days = estimate.days_of_budget
    return (
        f"{estimate.invoices_added} more invoice{'s' if estimate.invoices_added != 1 else ''} to book, "
        f"about {estimate.exact_calls} Exact Online calls ({days} day{'s' if days != 1 else ''} of the daily budget)."
    )


@require_http_methods(["GET"])
@installation_required
def sync_from_estimate_json(request):
    """What a `Sync from` further back would add, asked by the settings page as the administrator picks a date."""
    try:
        new_date = date.fromisoformat(request.GET.get("sync_from", ""))
    except ValueError:
        return JsonResponse({"text": ""})
    estimate, text = _moving_back(request.installation, new_date, "Saving moves Sync from back to")
    return JsonResponse({"text": text, **(dataclasses.asdict(estimate) if estimate else {})})


def _backfill(installation, row):
    if row.sync_from is None:
        return None
    return backfill_progress(installation=installation, since=row.sync_from)


@require_http_methods(["GET"])
@installation_required
def backfill_progress_json(request):
    """The catching-up progress since `Sync from`, polled by the progress bar on the settings page."""
    done, total = _backfill(request.installation, settings_get(installation=request.installation)) or (0, 0)
    return JsonResponse({"done": done, "total": total})


@require_http_methods(["GET", "POST"])
@installation_required
def vat_mapping(request):
    installation = request.installation
    try:
        rates = list(eduframe_client(installation).reference.invoice_vats())
        checker = CodeChecker(
            installation=installation,
            connection=connection_get(installation=installation),
            division=settings_get(installation=installation).division,
        )
        vat_codes = checker.sales_vat_codes()
    except (ExactUnavailable, SyncError) as exc:
        messages.error(request, f"The VAT rates cannot be shown: {exc.message}")
        return redirect("settings")
    saved = vat_mappings_get(installation=installation)
    suggested = vat_suggestions(rates=rates, vat_codes=vat_codes)
    initial = {rate.id: saved.get(rate.id) or suggested.get(rate.id, "") for rate in rates}
    form = VatMappingForm(request.POST or None, rates=rates, vat_codes=vat_codes, initial_codes=initial)
    if request.method == "POST" and form.is_valid():
        choices = form.chosen(rates)
        vat_mapping_save(installation=installation, rates=rates, choices=choices)
        names = {rate.id: rate.name or str(rate.id) for rate in rates}
        summary = changes_summary(
            {names[r.id]: saved.get(r.id, "") for r in rates}, {names[r.id]: choices.get(r.id, "") for r in rates}
        )
        audit_record(request=request, action="VAT mapping saved", summary=summary)
        messages.success(request, "VAT mapping saved.")
        return redirect("vat-mapping")
    rows = [(rate, form[VatMappingForm.field_name(rate.id)], suggested.get(rate.id, "")) for rate in rates]
    return render(request, "plugin/settings/vat.html", {"form": form, "rows": rows})
