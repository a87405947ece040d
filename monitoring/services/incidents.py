"""Incidents told to the administrator at once, once each: Exact to reconnect, Eduframe refusing our
credentials, Exact's refresh token about to lapse, the day's Exact budget spent while invoices wait.

Each check reads the current state: a problem that is present opens an incident (one open row per kind and
key, guarded by a unique constraint) and the process that claims its `notified_at` sends the one mail; a
problem that is gone closes its incident, so that the next occurrence is news again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.models import AlertIncident
from monitoring.services.alert_mail import alert_mail_send, alert_recipients, page_url
from plugin.models import ExactConnection, Installation
from sync.models import InvoiceRecord

logger = logging.getLogger(__name__)
Kind = AlertIncident.Kind

# Exact refresh tokens die after about 30 days unused; the keep-alive refreshes after 7 idle days, so a
# token this old means the keep-alive is failing: warn a week before the end.
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
LAPSE_WARNING_AFTER = timedelta(days=23)


@dataclass(frozen=True)
class Problem:
    kind: str
    key: str
    subject: str
    body: str


def alert_incidents_check(*, installation: Installation, now: datetime | None = None) -> int:
    """Open, tell and close the installation's incidents; return how many mails were sent."""
    now = now or timezone.now()
    problems = incident_problems(installation=installation, now=now) if installation.is_active else []
    _close_the_gone(installation, {(p.kind, p.key) for p in problems}, now)
    recipients = alert_recipients(installation=installation)
    if not recipients:
        # Nobody to tell: nothing is opened, so an address given later still hears of a lasting problem.
        return 0
    sent = 0
    for problem in problems:
        incident = _open(installation, problem)
        if _tell(incident, problem, recipients, now):
            sent += 1
    return sent


def incident_problems(*, installation: Installation, now: datetime) -> list[Problem]:
    """The problems the installation has right now, in the administrator's words."""
    connection = ExactConnection.objects.filter(installation=installation).first()
    settings_link = page_url("settings")
    problems = []
    if connection is not None and connection.status == ExactConnection.Status.NEEDS_RECONNECT:
        why = connection.last_error or "Exact Online refused the connection."
        problems.append(
            Problem(
                Kind.EXACT_RECONNECT,
                "",
                f"Exact Online must be reconnected ({installation})",
                f"{why}\n\nUntil it is reconnected, no invoice is booked in Exact; they wait and are booked "
                f"afterwards.\n\nReconnect Exact Online on the settings page: {settings_link}\n",
            )
        )
    if installation.eduframe_auth_error:
        problems.append(
            Problem(
                Kind.EDUFRAME_REFUSED,
                "",
                f"Eduframe refuses EduExact's access ({installation})",
                f"{installation.eduframe_auth_error}\n\nUntil then EduExact cannot read invoices from Eduframe.\n\n"
                f"Settings: {settings_link}\n",
            )
        )
    problems.extend(_tokens_unreadable(installation, connection, settings_link))
    if connection is not None:
        problems.extend(_exact_token_lapsing(installation, connection, now, settings_link))
        problems.extend(_exact_budget_spent(installation, connection, now))
    return problems


def _tokens_unreadable(installation, connection, settings_link) -> list[Problem]:
    """Stored credentials that no configured key decrypts, in this process or in the worker that parked invoices."""
    from sync.services.token_recovery import invoices_waiting_for_key

    unreadable = []
    if connection is not None and connection.tokens_unreadable:
        unreadable.append("the Exact Online connection")
    if installation.eduframe_tokens_unreadable:
        unreadable.append("the Eduframe credentials")
    waiting = invoices_waiting_for_key().filter(installation=installation).count()
    if not unreadable and not waiting:
        return []
    what = " and ".join(unreadable) or "the stored credentials"
    body = (
        f"Reconnect needed: EduExact cannot decrypt {what} with the encryption key it was started with "
        f"(TOKEN_ENCRYPTION_KEY). {waiting} invoice(s) wait; nothing is lost.\n\n"
        "Most often a process was started with a wrong or new key: put back the key the credentials were stored "
        "with (after the current key, separated by a comma) and restart EduExact; the waiting invoices are then "
        "booked without anyone retrying them. If that key is lost, reconnect Exact Online on the settings page "
        f"and replace the Eduframe credentials on the Security page.\n\nSettings: {settings_link}\n"
    )
    return [Problem(Kind.TOKENS_UNREADABLE, "", f"The stored credentials cannot be decrypted ({installation})", body)]


def _exact_token_lapsing(installation, connection, now, settings_link) -> list[Problem]:
    issued = connection.tokens_issued_at
    if connection.status != ExactConnection.Status.CONNECTED or issued is None or issued > now - LAPSE_WARNING_AFTER:
        return []
    lapses = timezone.localtime(issued + REFRESH_TOKEN_LIFETIME)
    body = (
        f"Exact Online's connection has not been renewed since {timezone.localtime(issued):%d %b %Y} and lapses "
        f"around {lapses:%d %b %Y}: after that only reconnecting helps. EduExact renews idle connections weekly, "
        f"so something keeps that from working ({connection.last_error or 'no error recorded'}).\n\n"
        f"Check the connection on the settings page: {settings_link}\n"
    )
    return [
        Problem(Kind.EXACT_TOKEN_LAPSING, "", f"Exact Online's connection is about to lapse ({installation})", body)
    ]


def _exact_budget_spent(installation, connection, now) -> list[Problem]:
    reset = connection.daily_reset_at
    if connection.daily_remaining is None or connection.daily_remaining > 0 or reset is None or reset <= now:
        return []
    waiting = InvoiceRecord.objects.filter(installation=installation, state=InvoiceRecord.State.PENDING).count()
    if not waiting:
        return []
    reset_local = timezone.localtime(reset)
    calls = f"{connection.daily_limit} " if connection.daily_limit else ""
    body = (
        f"EduExact used all of today's {calls}Exact Online calls for the division, and "
        f"{waiting} invoice(s) still wait. They are booked after Exact's limit resets at {reset_local:%H:%M} "
        f"({reset_local:%d %b %Y}).\n\nSync log: {page_url('sync-log', query='state=pending')}\n"
    )
    key = reset_local.date().isoformat()
    return [Problem(Kind.EXACT_BUDGET_SPENT, key, f"Exact Online's daily call limit is used up ({installation})", body)]


def _close_the_gone(installation: Installation, present: set[tuple[str, str]], now: datetime) -> None:
    for incident in AlertIncident.objects.filter(installation=installation, resolved_at__isnull=True):
        if (incident.kind, incident.key) not in present:
            AlertIncident.objects.filter(pk=incident.pk, resolved_at__isnull=True).update(resolved_at=now)


def _open(installation: Installation, problem: Problem) -> AlertIncident:
    """The open incident of this problem, opened now if there is none (one per kind and key)."""
    fields = {"installation": installation, "kind": problem.kind, "key": problem.key, "resolved_at__isnull": True}
    incident = AlertIncident.objects.filter(**fields).first()
    if incident is not None:
        return incident
    try:
        with transaction.atomic():
            return AlertIncident.objects.create(
                installation=installation, kind=problem.kind, key=problem.key, message=problem.body
            )
    except IntegrityError:
        # Another process opened it meanwhile.
        return AlertIncident.objects.get(**fields)


def _tell(incident: AlertIncident, problem: Problem, recipients: list[str], now: datetime) -> bool:
    """Send the incident's one mail, unless another process claimed it; a failed delivery is tried again later."""
    if incident.notified_at is not None:
        return False
    if not AlertIncident.objects.filter(pk=incident.pk, notified_at__isnull=True).update(notified_at=now):
        return False
    try:
        alert_mail_send(recipients=recipients, subject=problem.subject, body=problem.body)
    except Exception:
        AlertIncident.objects.filter(pk=incident.pk).update(notified_at=None)
        raise
    return True
