"""Reading stored tokens as the database holds them, for the key rotation and key check tests."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.db import connection as db


def raw_column(table: str, column: str, pk: int) -> str:
    """A column as stored (encrypted), not as the model decrypts it."""
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 (test-only names)
        return cursor.fetchone()[0]


def opens(key: str, cipher: str) -> bool:
    """Whether this Fernet key decrypts the stored value."""
    try:
        Fernet(key.encode()).decrypt(cipher.encode())
    except InvalidToken:
        return False
    return True
