"""System check: TOKEN_ENCRYPTION_KEY must open the stored tokens (`manage.py check --database default`, `migrate`).

A warning, not an error: when the old key is lost, `migrate` must still run, and the administrators' reconnecting
is the fix (plugin/services/key_check.py).
"""

from __future__ import annotations

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database)
def stored_tokens_open(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    if not databases or "default" not in databases:
        return []  # Django runs database checks only when asked to
    from plugin.services.key_check import key_problem, tokens_survey

    try:
        message = key_problem(tokens_survey())
    except DatabaseError:
        return []  # before the first migrate there is nothing stored to open
    if not message:
        return []
    return [Warning(message, id="plugin.W001")]
