"""Print a new random key for TOKEN_ENCRYPTION_KEY (a Fernet key: 32 random bytes, URL-safe base64)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new random key for TOKEN_ENCRYPTION_KEY."

    def handle(self, *args, **options) -> None:
        self.stdout.write(Fernet.generate_key().decode())
