"""Re-encrypt every stored token with the first key of TOKEN_ENCRYPTION_KEY (the key rotation's second step)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from plugin.services.token_keys import tokens_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored OAuth token with the first key of TOKEN_ENCRYPTION_KEY; afterwards the other keys "
        "can be removed from it."
    )

    def handle(self, *args, **options) -> None:
        report = tokens_reencrypt()
        self.stdout.write(f"Re-encrypted {report.tokens} token(s) on {report.rows} row(s) with the first key.")
        if report.unreadable:
            for label in report.unreadable:
                self.stderr.write(f"Cannot be decrypted with any configured key: {label}")
            raise CommandError(
                f"{len(report.unreadable)} token(s) could not be decrypted and were left as they are: add the key "
                "they were written with to TOKEN_ENCRYPTION_KEY and run this again, or reconnect those installations."
            )
