"""Does this process's TOKEN_ENCRYPTION_KEY open the stored tokens? Said at start, checked before storing new ones.

A process started with a wrong key (not the one the stored tokens were written with) reads them all as
unreadable, and would store new tokens with its own key, which the processes holding the right key cannot read:
the stored data becomes a mix. So the operator is told at every process start (a log error, and a system check
for `manage.py check --database default` and `migrate`), and new tokens are stored as follows:

- Refused while the sync demonstrably reads what this process cannot: an Exact connection these keys do not
  open was used successfully after this process took up its key, so another process holds the right key, and
  a token stored here now could not be read by it.
- Otherwise stored, with an error in the log: when the old key is lost, reconnecting Exact Online and replacing
  the Eduframe credentials is the documented fix, and these writes are what makes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from plugin.crypto import is_undecryptable, keys_taken_up_at
from plugin.models import ExactConnection, Installation
from plugin.services.token_keys import ENCRYPTED_COLUMNS

logger = logging.getLogger(__name__)

SHOWN_LABELS = 5
FIX = (
    "If TOKEN_ENCRYPTION_KEY was changed, put the old key after the new one (TOKEN_ENCRYPTION_KEY=<new>,<old>) and "
    "restart every web and worker process with that same value; only if the old key is lost, the administrators "
    "reconnect Exact Online and replace the Eduframe credentials instead."
)
KEYS_DISAGREE = (
    "Nothing was saved: this EduExact server runs with another encryption key than the sync, so the sync could not "
    "read what it would save now. Your stored connection is left as it is. Ask the operator of EduExact to fix "
    "TOKEN_ENCRYPTION_KEY on the web server (they find the details in its log)."
)


class KeysDisagree(Exception):
    """Storing new tokens here would write them with a key the sync does not hold; `.message` is for the
    administrator."""

    def __init__(self, message: str = KEYS_DISAGREE):
        super().__init__(message)
        self.message = message


@dataclass
class TokenSurvey:
    stored: int = 0
    unreadable: list[str] = field(default_factory=list)
    # Installations whose Exact connection these keys do not open, used by the sync after this process started.
    used_elsewhere: list[int] = field(default_factory=list)


def tokens_survey() -> TokenSurvey:
    """Try every stored token with the configured keys (a few per installation: cheap)."""
    survey = TokenSurvey()
    since = keys_taken_up_at()
    for model, columns in ENCRYPTED_COLUMNS.items():
        for row in model._default_manager.order_by("pk"):
            values = [(column, getattr(row, column)) for column in columns]
            survey.stored += sum(1 for _column, value in values if value or is_undecryptable(value))
            closed = [column for column, value in values if is_undecryptable(value)]
            survey.unreadable += [f"{model.__name__} #{row.pk} {column}" for column in closed]
            if closed and isinstance(row, ExactConnection) and row.last_success_at and row.last_success_at > since:
                survey.used_elsewhere.append(row.installation_id)
    return survey


def keys_disagree(*, installation: Installation, connection: ExactConnection | None) -> bool:
    """Does this process hold another key than the sync, as one installation's pages see it?

    True when this installation's stored tokens are unreadable here and the sync demonstrably reads what this
    process cannot (`TokenSurvey.used_elsewhere`): a reconnect or new credentials would be refused here
    (`token_store_check`), so the page asks for the operator's fix instead of the administrator's reconnect. The
    survey runs only when this installation's tokens are unreadable here: a healthy page costs no extra query.
    """
    unreadable = installation.eduframe_tokens_unreadable or (connection is not None and connection.tokens_unreadable)
    return unreadable and bool(tokens_survey().used_elsewhere)


def key_problem(survey: TokenSurvey) -> str:
    """The operator's message about the configured keys, or "" when they open every stored token."""
    if not survey.unreadable:
        return ""
    shown = ", ".join(survey.unreadable[:SHOWN_LABELS])
    more = f" and {len(survey.unreadable) - SHOWN_LABELS} more" if len(survey.unreadable) > SHOWN_LABELS else ""
    message = (
        f"TOKEN_ENCRYPTION_KEY does not open {len(survey.unreadable)} of the {survey.stored} stored token(s) "
        f"({shown}{more}): they were encrypted with a key it does not hold. {FIX}"
    )
    if survey.used_elsewhere:
        ids = ", ".join(str(pk) for pk in survey.used_elsewhere)
        message += (
            f" Another process read the Exact connection of installation(s) {ids} after this one started, so it "
            "holds the right key: this process stores no new tokens until its TOKEN_ENCRYPTION_KEY is fixed."
        )
    return message


def key_problem_log(process: str) -> None:
    """At a process's start: an error in the log when its keys do not open the stored tokens."""
    message = key_problem(tokens_survey())
    if message:
        logger.error("%s: %s", process, message)


def token_store_check(what: str) -> None:
    """Before storing new tokens (`what`, for the log): raise KeysDisagree where that would mix keys."""
    survey = tokens_survey()
    message = key_problem(survey)
    if not message:
        return
    if survey.used_elsewhere:
        logger.error("Refused to store %s: %s", what, message)
        raise KeysDisagree()
    logger.error("Storing %s with the first key of TOKEN_ENCRYPTION_KEY although: %s", what, message)
