"""The daily digest: one mail listing the invoices that newly need attention, each with its reason and link.

An invoice is reported once; it is forgotten (and so news again) only after it was resolved (booked,
skipped or removed). Nothing is sent when nothing new needs attention.
"""

from __future__ import annotations

import logging
from datetime import datetime
from smtplib import SMTPException

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from monitoring.models import AlertSettings, AttentionReported
from monitoring.services.alert_mail import alert_mail_send, page_url
from plugin.models import Installation
from sync.models import InvoiceRecord

logger = logging.getLogger(__name__)
State = InvoiceRecord.State
# A mail stays readable: beyond this many invoices it points to the sync log for the rest.
LISTED_AT_MOST = 100


def alert_digest_send(*, installation: Installation) -> int:
    """Send the digest of invoices that newly need attention; return how many invoices it reported."""
    alerts = AlertSettings.objects.filter(installation=installation).first()
    if alerts is None or not alerts.recipients:
        return 0
    with transaction.atomic():
        # One digest of an installation at a time: two would each report the same invoices.
        AlertSettings.objects.select_for_update().filter(pk=alerts.pk).first()
        AttentionReported.objects.filter(invoice__installation=installation).exclude(
            invoice__state__in=(State.NEEDS_ATTENTION, State.PENDING)
        ).delete()
        records = list(
            InvoiceRecord.objects.filter(
                installation=installation, state=State.NEEDS_ATTENTION, attention_report__isnull=True
            ).order_by("invoice_date", "pk")
        )
        if not records:
            return 0
        AttentionReported.objects.bulk_create([AttentionReported(invoice=r, reason=r.reason) for r in records])
        # Sent inside the transaction: a delivery that fails rolls the reports back, so the next digest has them.
        alert_mail_send(recipients=alerts.recipients, subject=_subject(installation, records), body=_body(records))
    return len(records)


def _subject(installation: Installation, records: list[InvoiceRecord]) -> str:
    count = len(records)
    return f"{count} invoice{'s' if count != 1 else ''} need{'s' if count == 1 else ''} attention ({installation})"


def _body(records: list[InvoiceRecord]) -> str:
    lines = ["These invoices newly need attention: they are not in Exact Online until the reason is fixed.", ""]
    for record in records[:LISTED_AT_MOST]:
        lines.append(f"Invoice {record.number or record.eduframe_invoice_id}: {_headline(record)}")
        lines.append(f"  Why: {record.reason}")
        if record.fix_hint:
            lines.append(f"  Fix: {record.fix_hint}")
        lines.append(f"  {page_url('log-detail', record.pk)}")
        lines.append("")
    if len(records) > LISTED_AT_MOST:
        lines.append(f"... and {len(records) - LISTED_AT_MOST} more.")
    lines.append(f"All invoices that need attention: {page_url('sync-log', query='state=needs_attention')}")
    return "\n".join(lines) + "\n"


def _headline(record: InvoiceRecord) -> str:
    parts = [record.account_name, record.invoice_date and f"{record.invoice_date:%d %b %Y}"]
    if record.total_incl is not None:
        parts.append(f"€ {record.total_incl}")
    return ", ".join(part for part in parts if part) or "no details yet"


def alert_digests_due(*, now: datetime | None = None) -> int:
    """Send today's digest of every installation that has not had it, once the digest hour has come."""
    now = timezone.localtime(now or timezone.now())
    if now.hour < settings.ALERT_DIGEST_HOUR:
        return 0
    today = now.date()
    not_today = Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=today)
    sent = 0
    waiting = AlertSettings.objects.exclude(emails="").filter(not_today, installation__is_active=True)
    for alerts in waiting.select_related("installation"):
        # Claim the day: of several beat runs or workers, one sends.
        if not AlertSettings.objects.filter(not_today, pk=alerts.pk).update(last_digest_on=today):
            continue
        try:
            sent += bool(alert_digest_send(installation=alerts.installation))
        except (SMTPException, OSError) as exc:
            AlertSettings.objects.filter(pk=alerts.pk).update(last_digest_on=alerts.last_digest_on)
            logger.warning("The alert digest of %s was not delivered (tried again later): %r", alerts.installation, exc)
    return sent
