"""Encryption of OAuth tokens at rest (Fernet, keyed by TOKEN_ENCRYPTION_KEY)."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Any passphrase works: stretch it into a valid Fernet key.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def encrypt(plain: str) -> str:
    return _fernet(settings.TOKEN_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(cipher: str) -> str:
    try:
        return _fernet(settings.TOKEN_ENCRYPTION_KEY).decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("A stored token cannot be decrypted: was TOKEN_ENCRYPTION_KEY changed?") from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted; empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
