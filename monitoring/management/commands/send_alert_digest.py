"""`manage.py send_alert_digest`: send the digest of invoices that newly need attention now, not at the digest hour."""

from __future__ import annotations

from smtplib import SMTPException

from django.core.management.base import BaseCommand, CommandError

from monitoring.services.alert_mail import alert_recipients
from monitoring.services.digest import alert_digest_send
from plugin.models import Installation


class Command(BaseCommand):
    help = "Send each installation's digest of invoices that newly need attention now (each invoice is reported once)."

    def add_arguments(self, parser):
        parser.add_argument("--installation", type=int, help="Only this installation id.")

    def handle(self, *args, **options):
        installations = Installation.objects.filter(is_active=True)
        if options["installation"] is not None:
            installations = installations.filter(pk=options["installation"])
            if not installations.exists():
                raise CommandError(f"No active installation with id {options['installation']}.")
        for installation in installations:
            recipients = alert_recipients(installation=installation)
            if not recipients:
                self.stdout.write(f"Installation {installation.pk} ({installation}): no Alert e-mail, nothing sent")
                continue
            try:
                count = alert_digest_send(installation=installation)
            except (SMTPException, OSError) as exc:
                raise CommandError(f"Installation {installation.pk}: the digest was not delivered: {exc!r}") from exc
            told = f"{count} invoice(s) sent to {', '.join(recipients)}" if count else "nothing new, nothing sent"
            self.stdout.write(f"Installation {installation.pk} ({installation}): {told}")
