"""Encryption of OAuth tokens at rest (Fernet), keyed by TOKEN_ENCRYPTION_KEY.

TOKEN_ENCRYPTION_KEY holds one key or several separated by commas: the first encrypts, every one
decrypts, so a key is rotated by putting the new one first, running `manage.py reencrypt_tokens`, and then
dropping the old one. A key is either a Fernet key (`manage.py generate_encryption_key` prints one) or a
passphrase, stretched with scrypt and a fixed application salt. Tokens written by earlier versions, whose
passphrases were stretched with one SHA-256, still decrypt: that legacy key is tried after the scrypt one.

A stored token that no key decrypts is read as an empty `UndecryptableToken`: the page shows "reconnect
needed" and the webhook receiver keeps storing webhooks, instead of every read answering 500. Saving the row
again writes the original ciphertext back, so a key restored later still opens it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)

# Fixed, public and per application: it makes our derived keys differ from any other use of the passphrase.
KDF_SALT = b"eduexact/token-encryption/v1"
# scrypt with n=2**14, r=8: about 16 MB and tens of milliseconds, once per process and key (cached).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key.encode())
    except ValueError:
        return False
    return True


def derive_key(passphrase: str) -> bytes:
    """A Fernet key stretched from a passphrase with scrypt (salted with the application's salt)."""
    raw = hashlib.scrypt(passphrase.encode(), salt=KDF_SALT, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return base64.urlsafe_b64encode(raw)


def _legacy_key(passphrase: str) -> bytes:
    """How versions before key rotation stretched a passphrase: one unsalted SHA-256 (decrypting only)."""
    return base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())


def configured_keys(value: str | None = None) -> list[str]:
    """The keys of TOKEN_ENCRYPTION_KEY, in order (the first encrypts); blanks between commas are ignored."""
    value = settings.TOKEN_ENCRYPTION_KEY if value is None else value
    return [part.strip() for part in value.split(",") if part.strip()]


@lru_cache(maxsize=8)
def _fernets_for(key: str) -> tuple[Fernet, ...]:
    """The Fernets one configured key decrypts with; the first of them is the one it encrypts with."""
    if _is_fernet_key(key):
        return (Fernet(key.encode()),)
    return (Fernet(derive_key(key)), Fernet(_legacy_key(key)))


# When this process first used each value of TOKEN_ENCRYPTION_KEY (one value in production; tests change it).
_TAKEN_UP: dict[str, datetime] = {}


def keys_taken_up_at() -> datetime:
    """When this process first used its TOKEN_ENCRYPTION_KEY: a stored token that the sync used after this moment
    and that these keys do not open was opened by a process holding another key (plugin/services/key_check.py)."""
    return _TAKEN_UP.setdefault(settings.TOKEN_ENCRYPTION_KEY, timezone.now())


@lru_cache(maxsize=4)
def _multi(value: str) -> MultiFernet:
    _TAKEN_UP.setdefault(value, timezone.now())
    keys = configured_keys(value)
    if not keys:
        raise ValueError("TOKEN_ENCRYPTION_KEY is empty.")
    return MultiFernet([fernet for key in keys for fernet in _fernets_for(key)])


def encrypt(plain: str) -> str:
    """Encrypt with the first configured key."""
    return _multi(settings.TOKEN_ENCRYPTION_KEY).encrypt(plain.encode()).decode()


def decrypt(cipher: str) -> str:
    """Decrypt with whichever configured key opens it; ValueError when none does."""
    try:
        return _multi(settings.TOKEN_ENCRYPTION_KEY).decrypt(cipher.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("A stored token cannot be decrypted with any key in TOKEN_ENCRYPTION_KEY.") from exc


def reencrypt(cipher: str) -> str:
    """The same token encrypted with the first key (ValueError when no configured key opens it)."""
    return encrypt(decrypt(cipher))


class UndecryptableToken(str):
    """A stored token no configured key opens: empty to every reader, its ciphertext kept for saving."""

    ciphertext: str

    def __new__(cls, ciphertext: str):
        token = super().__new__(cls, "")
        token.ciphertext = ciphertext
        return token


def is_undecryptable(value) -> bool:
    return isinstance(value, UndecryptableToken)


class EncryptedTextField(models.TextField):
    """A text column whose value is stored encrypted; empty stays empty."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return decrypt(value)
        except ValueError:
            logger.warning("A stored token of %s cannot be decrypted with TOKEN_ENCRYPTION_KEY.", self.model.__name__)
            return UndecryptableToken(value)

    def get_prep_value(self, value):
        if isinstance(value, UndecryptableToken):
            return value.ciphertext
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
