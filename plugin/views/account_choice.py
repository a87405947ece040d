"""The administrator's answer to "which Exact account?" for an invoice whose account match was not adopted."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from plugin.decorators import installation_required
from sync.models import SyncAttempt
from sync.selectors import invoice_get
from sync.services.account_decision import CREATE, DecisionError, account_decide

DONE = {
    "link": "Linked to the existing Exact account; {count} invoice(s) of this account will be booked on it.",
    CREATE: "A new Exact account will be created; {count} invoice(s) of this account will be booked on it.",
}


@require_POST
@installation_required
def account_choice(request, record_id: int):
    record = invoice_get(installation=request.installation, record_id=record_id)
    choice = request.POST.get("choice", "")
    try:
        count = account_decide(
            installation=request.installation,
            eduframe_account_id=record.eduframe_account_id,
            choice=choice,
            trigger=SyncAttempt.Trigger.MANUAL,
        )
    except DecisionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, DONE[choice].format(count=count))
    return redirect("log-detail", record_id=record.pk)
