"""`manage.py sync_status`: per installation, the invoices per state, the oldest pending and the last error."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from plugin.models import ExactConnection, Installation
from sync.local_time import local_stamp
from sync.selectors import sync_status


class Command(BaseCommand):
    help = "Show, per installation, how many invoices are in each state, the oldest pending one and the last error."

    def add_arguments(self, parser):
        parser.add_argument("--installation", type=int, help="Only this installation id.")

    def handle(self, *args, **options):
        installations = Installation.objects.all()
        if options["installation"] is not None:
            installations = installations.filter(pk=options["installation"])
            if not installations.exists():
                raise CommandError(f"No installation with id {options['installation']}.")
        for installation in installations:
            self._report(installation)

    def _report(self, installation: Installation) -> None:
        status = sync_status(installation=installation)
        self.stdout.write(f"Installation {installation.pk} ({installation}): {status.total} invoice(s)")
        for state, count in status.counts.items():
            self.stdout.write(f"  {state}: {count}")
        oldest = status.oldest_pending
        if oldest is not None:
            since = local_stamp(oldest.created_at)
            number = f" ({oldest.number})" if oldest.number else ""
            reason = f" - {oldest.reason}" if oldest.reason else ""
            self.stdout.write(f"  oldest pending: invoice {oldest.eduframe_invoice_id}{number} since {since}{reason}")
        last = status.last_error
        if last is not None:
            when = local_stamp(last.started_at)
            invoice = last.invoice.number or last.invoice.eduframe_invoice_id
            self.stdout.write(f"  last error: {when}, invoice {invoice} - {last.message}")
        self._unreadable_tokens(installation)

    def _unreadable_tokens(self, installation: Installation) -> None:
        """Tokens this process's TOKEN_ENCRYPTION_KEY does not open: nothing of this installation books."""
        connection = ExactConnection.objects.filter(installation=installation).first()
        unreadable = []
        if connection is not None and connection.tokens_unreadable:
            unreadable.append(("the stored Exact Online connection", "reconnect Exact Online on the settings page"))
        if installation.eduframe_tokens_unreadable:
            unreadable.append(("the stored Eduframe credentials", "replace them on the Security page"))
        for what, fix in unreadable:
            self.stdout.write(
                f"  Reconnect needed: {what} cannot be decrypted with TOKEN_ENCRYPTION_KEY. Put the key it was "
                f"stored with after the current one (TOKEN_ENCRYPTION_KEY=<new>,<old>) and restart, or {fix}."
            )
