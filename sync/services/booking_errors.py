"""What an error means for an invoice record: its state, the words for the administrator, when to retry.

Functional errors are never retried blindly: Exact blocks an endpoint for an hour after 10 error answers, so
one broken invoice retried in a loop would stop every other invoice of the division.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from sync.errors import (
    WAIT_EDUFRAME,
    WAIT_EXACT_DAY,
    WAIT_EXACT_MINUTE,
    AuthError,
    DeferredError,
    FunctionalError,
    NeedsDecision,
    RetryableError,
    SyncError,
    TokensUnreadable,
)
from sync.local_time import local_clock
from sync.models import InvoiceRecord

MAX_BACKOFF_MINUTES = 60
RECONNECT_REASON = "Exact Online must be reconnected before this invoice can be booked."
RECONNECT_HINT = "Reconnect Exact Online on the settings page; waiting invoices are then booked."
# A token no key opens (issue 9 section 4's words): every reason of it starts so, which the alert and the
# recovery at worker start look for.
UNREADABLE_REASON_START = "Reconnect needed:"
KEY_RECHECK = timedelta(minutes=5)
# Exact refuses any change of an entry in these cases (Dutch, English catalogue).
CLOSED_PERIOD_NL, CLOSED_PERIOD_EN = "Periode is afgesloten", "Period is closed"
PROCESSED_NL, PROCESSED_EN = "Reeds verwerkt", "Already processed"

# Exact's own words -> what the administrator should do, in their words. Exact answers in the language the
# client asks for (we ask for Dutch: sync/exact/client.py MESSAGE_LANGUAGE), else in the Exact user's own; each
# needle is given in both catalogues (Dutch, English), so an answer in either finds its hint. Order matters:
# the first match wins ("G/L account type" before "G/L account").
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Ongeldige referentie: Journals", "Invalid reference: Journals"),
        "The 'Journal code' is not a sales journal of the division. Choose the "
        "code of a sales journal (in Exact: Financial > Journals, type Sales) under 'Journal code' on the settings page.",
    ),
    (
        ("Grootboekrekeningtype", "G/L account type"),
        "The ledger is not a revenue (profit and loss) account. Choose a revenue ledger under "
        "'Ledger code' on the settings page or on the course template or edition.",
    ),
    (
        ("Ongeldige referentie: Grootboekrekening", "Invalid reference: G/L account"),
        "The 'Ledger code' does not exist in the division. Correct it on the "
        "settings page or on the course template or edition.",
    ),
    (
        ("Geblokkeerd: Grootboekrekening", "Blocked: G/L account"),
        "The ledger is blocked in Exact. Unblock it in Exact or choose another 'Ledger code'.",
    ),
    (
        ("Verplicht: Kostenplaats", "Mandatory: Cost center"),
        "The ledger requires a cost center. Fill in 'Cost center' on the course template or "
        "edition, or choose a ledger that does not require one.",
    ),
    (
        ("Verplicht: Kostendrager", "Mandatory: Cost unit"),
        "The ledger requires a cost unit. Fill in 'Cost unit' on the course template or "
        "edition, or choose a ledger that does not require one.",
    ),
    (
        ("Ongeldige referentie: Kostenplaats", "Invalid reference: Cost center"),
        "The 'Cost center' does not exist in Exact. Correct it on the course "
        "template or edition (the code, as in Exact: Financial > Cost centers).",
    ),
    (
        ("Ongeldige referentie: Kostendrager", "Invalid reference: Cost unit"),
        "The 'Cost unit' does not exist in Exact. Correct it on the course "
        "template or edition (the code, as in Exact: Financial > Cost units).",
    ),
    (
        ("Niet toegestaan: Kostenplaats", "Not allowed: Cost center"),
        "The ledger does not allow a cost center. Empty 'Cost center' on the course "
        "template or edition, or choose another 'Ledger code'.",
    ),
    (
        ("Niet toegestaan: Kostendrager", "Not allowed: Cost unit"),
        "The ledger does not allow a cost unit. Empty 'Cost unit' on the course "
        "template or edition, or choose another 'Ledger code'.",
    ),
    (
        ("Btw", "VAT"),
        "Exact refuses the VAT code. Choose a sales VAT code of the division under VAT mapping on the settings "
        "page (and check that the journal allows VAT).",
    ),
    (
        ("Klant (Type)", "Customer (Type)"),
        "The Exact account is not a customer. Make it a customer in Exact (or undo the merge), then retry.",
    ),
    (
        (CLOSED_PERIOD_NL, CLOSED_PERIOD_EN),
        "The financial period of the invoice date is closed in Exact. Reopen it in Exact, then retry.",
    ),
    (
        (PROCESSED_NL, PROCESSED_EN),
        "The entry was already processed in Exact and cannot be changed. Retry to book a correction.",
    ),
    (
        ("Land", "Country"),
        "Exact does not know the account's country. Correct the country of the account's address in Eduframe.",
    ),
    (
        ("Boekstuknummer", "Entry number"),
        "The entry number is taken in the journal. Retry; Exact then picks the next free number.",
    ),
)
WAITS = {
    WAIT_EXACT_MINUTE: "Exact's per-minute limit",
    WAIT_EXACT_DAY: "Exact's daily limit",
    WAIT_EDUFRAME: "Eduframe, which asked us to slow down",
}
DEFAULT_HINT = "Correct what Exact names above (a setting, an override or the invoice), then retry from the sync log."


State, ErrorKind = InvoiceRecord.State, InvoiceRecord.ErrorKind


class ErrorSource(enum.Enum):
    """Which service an error came from: it decides the words, the hint and what a refused token means."""

    EDUFRAME = "Eduframe"
    EXACT = "Exact Online"


@dataclass(frozen=True)
class Outcome:
    """How an error leaves the record."""

    state: InvoiceRecord.State
    error_kind: InvoiceRecord.ErrorKind
    reason: str
    fix_hint: str = ""
    next_retry_at: datetime | None = None
    retry_count: int = 0
    exact_message: str = ""
    waiting_for: str = ""


def fix_hint_for(exact_message: str) -> str:
    """Return the administrator's fix for one of Exact's messages."""
    text = exact_message.lower()
    return next((hint for needles, hint in HINTS if any(n.lower() in text for n in needles)), DEFAULT_HINT)


def backoff(retry_count: int, retry_after: float | None = None) -> timedelta:
    """1, 2, 4 ... 60 minutes, jittered by up to a fifth so a batch does not come back at once."""
    minutes = min(MAX_BACKOFF_MINUTES, 2**retry_count)
    delay = timedelta(minutes=minutes * random.uniform(0.8, 1.2))
    return max(delay, timedelta(seconds=retry_after or 0))


def outcome_for(error: SyncError, *, retry_count: int, source: ErrorSource = ErrorSource.EXACT) -> Outcome:
    """Map an error (from `source`: Exact Online or Eduframe) to the record's new state."""
    if isinstance(error, TokensUnreadable):
        return unreadable_outcome(error, retry_count)
    if isinstance(error, AuthError) and source is ErrorSource.EDUFRAME:
        reason = f"Eduframe refused our access ({error.message})."
        return Outcome(
            State.PENDING, ErrorKind.AUTH, reason, "Install the plugin again from Eduframe's plugin settings."
        )
    if isinstance(error, AuthError):
        return Outcome(State.PENDING, ErrorKind.AUTH, f"{RECONNECT_REASON} ({error.message})", RECONNECT_HINT)
    if isinstance(error, DeferredError):
        # Not a failure: a budget is spent. Due again at its reset, and no retry counted.
        reason = f"Waits for {WAITS[error.waiting_for]}; booked at about {local_clock(error.not_before, seconds=True)}."
        return Outcome(
            State.PENDING, ErrorKind.NONE, reason, "", error.not_before, retry_count, waiting_for=error.waiting_for
        )
    if isinstance(error, RetryableError):
        when = timezone.now() + backoff(retry_count, error.retry_after)
        reason = f"{error.message} Tried {retry_count + 1} time(s); trying again at {local_clock(when)}."
        return Outcome(State.PENDING, ErrorKind.RETRYABLE, reason, "", when, retry_count + 1)
    if isinstance(error, NeedsDecision):
        return Outcome(State.NEEDS_ATTENTION, ErrorKind.FUNCTIONAL, error.message, error.fix_hint)
    message = error.message if isinstance(error, FunctionalError) else str(error)
    return Outcome(
        State.NEEDS_ATTENTION,
        ErrorKind.FUNCTIONAL,
        f"{source.value} refused the invoice: {message}",
        fix_hint_for(message) if source is ErrorSource.EXACT else DEFAULT_HINT,
        exact_message=message if source is ErrorSource.EXACT else "",
    )


def unreadable_outcome(error: TokensUnreadable, retry_count: int) -> Outcome:
    """A stored token no configured key opens: the invoice waits (no retry counted, no call made) and is looked
    at again every KEY_RECHECK, and at once when a worker starts with the key back (token_recovery.py)."""
    if error.exact:
        what, fix = "the stored Exact Online connection", "reconnect Exact Online on the settings page"
    else:
        what, fix = "the stored Eduframe credentials", "replace the Eduframe credentials on the Security page"
    reason = f"{UNREADABLE_REASON_START} {what} cannot be decrypted with the configured encryption key, so this invoice waits."
    hint = (
        "Put back the encryption key the credentials were stored with (an operator: in TOKEN_ENCRYPTION_KEY, after "
        f"the current key, separated by a comma, then restart EduExact), or {fix}. The waiting invoices are then "
        "booked without a retry."
    )
    when = timezone.now() + KEY_RECHECK
    return Outcome(State.PENDING, ErrorKind.AUTH, reason, hint, when, retry_count)


def is_refused_change(error: SyncError) -> bool:
    """Tell whether Exact refuses to change an entry at all (processed, or in a closed period)."""
    text = error.message.lower()
    refusals = (CLOSED_PERIOD_NL, CLOSED_PERIOD_EN, PROCESSED_NL, PROCESSED_EN)
    return isinstance(error, FunctionalError) and any(words.lower() in text for words in refusals)
