"""Key rotation: re-encrypt every stored token with the first key of TOKEN_ENCRYPTION_KEY."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from plugin.crypto import is_undecryptable
from plugin.models import ExactConnection, Installation

# Each model with the encrypted columns it holds.
ENCRYPTED_COLUMNS = {
    Installation: ("eduframe_access_token", "eduframe_refresh_token"),
    ExactConnection: ("access_token", "refresh_token"),
}


@dataclass
class ReencryptReport:
    rows: int = 0
    tokens: int = 0
    unreadable: list[str] = field(default_factory=list)


def tokens_reencrypt() -> ReencryptReport:
    """Rewrite each readable token with the first key, one row at a time under its lock.

    The lock matters: a worker refreshing the Exact tokens meanwhile must not have its new (rotated) refresh
    token overwritten by the old one we read a moment earlier.
    """
    report = ReencryptReport()
    for model, columns in ENCRYPTED_COLUMNS.items():
        for pk in model._default_manager.order_by("pk").values_list("pk", flat=True):
            _row_reencrypt(model, pk, columns, report)
    return report


def _row_reencrypt(model, pk: int, columns: tuple[str, ...], report: ReencryptReport) -> None:
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None:
            return
        changes = {}
        for column in columns:
            value = getattr(row, column)
            if is_undecryptable(value):
                report.unreadable.append(f"{model.__name__} #{pk} {column}")
            elif value:
                changes[column] = value  # saved through the field: encrypted with the first key
        if changes:
            # update() skips auto_now, and the field's get_prep_value encrypts with the first key.
            model.objects.filter(pk=pk).update(**changes)
            report.rows += 1
            report.tokens += len(changes)
