"""A local index of a division's Exact accounts, so that the new customers of a catch-up cost no search each.

Today's match of a new customer searches Exact once (`crm/Accounts?$filter=Code eq … or VATNumber eq … or
Email eq …`). During a catch-up, with many new customers waiting, the index answers the same question from a
copy of the division's accounts read through Exact's sync API: `sync/CRM/Accounts` (1,000 rows a call, in
`Timestamp` order, filtered on `Timestamp` only; reference page SyncCRMAccounts, Exact's own sync sample) and
`sync/Deleted` (`EntityType` 2 = accounts). The first read costs one call per 1,000 accounts; after it the
index is brought up to date (`Timestamp gt <last>`) at most once every FRESH_SECONDS while it is used, so all
new-customer bookings within that time share one refresh (two calls: accounts and deletions).

When it is used: a fresh index (read within FRESH_SECONDS) costs nothing and is always used. Reading or
refreshing it is done only while the installation has at least MIN_NEW_CUSTOMERS pending invoices of
customers without an Exact account, and the first read stops (and the search is used) when it would cost
more pages than half that number. A lone new invoice outside a catch-up searches as before.

Staleness, said plainly: an account typed into Exact within the last FRESH_SECONDS may not be seen by a
booking of a catch-up, which then creates our own `EF<id>` account beside it. Our own codes cannot be
doubled that way: Exact refuses a second account with the same `Code` ("Gegeven bestaat reeds.") and the
booking adopts the one that exists (account_match._create_once). A deleted or merged account the index still
holds is repaired as today: Exact refuses it as the customer and account_after_refusal searches Exact.

Any refusal of a sync endpoint (404, 403, an unknown field) falls back to the search, and the endpoint is not
asked again for REFUSAL_PAUSE (each refusal is an error answer towards Exact's hourly block); a failed call
(timeout, 5xx) falls back to the search for this booking only.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from sync.compiled_read import CompiledRead
from sync.errors import FunctionalError, RetryableError
from sync.exact.client import ACCOUNT_FIELDS
from sync.exact.entities import ExactAccount
from sync.models import AccountLink, ExactAccountIndex, ExactIndexedAccount, InvoiceRecord

FRESH_SECONDS = 60
MIN_NEW_CUSTOMERS = 4
REFUSAL_PAUSE = timedelta(hours=24)
# Longer than a read of a few pages can take with the clients' timeouts; a dead reader's claim lapses after it.
READ_LEASE = timedelta(minutes=2)
ACCOUNTS, DELETED = "sync/CRM/Accounts", "sync/Deleted"
ACCOUNTS_ENTITY = 2  # sync/Deleted EntityType 2 = accounts
KEY_LENGTHS = {"code_key": 64, "vat_key": 64, "email_key": 254}


def exact_key(value) -> str:
    """A string as Exact's `eq` compares it (SQL Server): trailing spaces and case ignored, leading spaces kept.

    Only the space is padding: a trailing tab or no-break space is part of the value for Exact, as it is for the
    sandbox (`sandbox/exact/odata_filter.py`), so `rstrip(" ")`, not `rstrip()`."""
    return str(value or "").rstrip(" ").lower()


def new_customers_pending(installation_id: int) -> int:
    """Eduframe accounts without an Exact account that have pending invoices: the searches the index saves.

    Asked by every new customer's booking outside a fresh index: written once as SQL, since the ORM builds
    this query (a DISTINCT under a COUNT, an EXISTS) at about a millisecond of CPU, ten times its run.
    """
    db = connections[InvoiceRecord.objects.db]
    with db.cursor() as cursor:
        cursor.execute(_PENDING_SQL, [installation_id, InvoiceRecord.State.PENDING, installation_id])
        return cursor.fetchone()[0]


def _pending_sql() -> str:
    records, links = InvoiceRecord._meta.db_table, AccountLink._meta.db_table
    # Table names of our own only, no input: the values go as parameters. A record without an Eduframe account
    # counts as one customer, as DISTINCT counts NULL once.
    return (
        f"SELECT COUNT(*) FROM (SELECT DISTINCT r.eduframe_account_id FROM {records} r "  # noqa: S608
        "WHERE r.installation_id = %s AND r.state = %s AND r.due_at IS NOT NULL AND r.exact_entry_id IS NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {links} l WHERE l.installation_id = %s "
        "AND l.eduframe_account_id = r.eduframe_account_id AND l.exact_account_id IS NOT NULL)) pending"
    )


_PENDING_SQL = _pending_sql()


def index_is_fresh(index: ExactAccountIndex | None, now=None) -> bool:
    now = now or timezone.now()
    fresh_since = now - timedelta(seconds=FRESH_SECONDS)
    return bool(index and index.complete and index.refreshed_at and index.refreshed_at > fresh_since)


# Read by every new customer's booking: compiled once (sync/compiled_read.py).
_INDEX = CompiledRead(
    lambda installation_id, division: ExactAccountIndex.objects.filter(
        installation_id=installation_id, division=division
    ).order_by("pk")[:1]
)


def index_find(client, *, installation_id: int, division: int, criteria: dict) -> list[ExactAccount] | None:
    """The accounts matching any of `criteria` (code, vat_number, email) from the index, or None: search Exact."""
    index = next(iter(_INDEX.rows(installation_id, division)), None)
    if not index_is_fresh(index):
        # Reading costs calls: only worth it for enough customers to come.
        pending = new_customers_pending(installation_id)
        if pending < MIN_NEW_CUSTOMERS:
            return None
        index = _usable_index(client, installation_id, division, pending)
    return None if index is None else _lookup(index, criteria)


def index_forget(*, installation_id: int, division: int, account_id: UUID | None) -> None:
    """Drop an account Exact refused (merged or deleted) from the index."""
    if account_id is not None:
        ExactIndexedAccount.objects.filter(
            index__installation_id=installation_id, index__division=division, account_id=account_id
        ).delete()


def _lookup(index: ExactAccountIndex, criteria: dict) -> list[ExactAccount]:
    keys = {"code": "code_key", "vat_number": "vat_key", "email": "email_key"}
    wanted = Q()
    for name, value in criteria.items():
        wanted |= Q(**{keys[name]: exact_key(value)[: KEY_LENGTHS[keys[name]]]})
    return [ExactAccount.from_api(row.fields) for row in index.accounts.filter(wanted).order_by("timestamp")]


def _usable_index(client, installation_id: int, division: int, pending: int) -> ExactAccountIndex | None:
    index, _ = ExactAccountIndex.objects.get_or_create(installation_id=installation_id, division=division)
    now = timezone.now()
    if index.refused_at and index.refused_at > now - REFUSAL_PAUSE:
        return None
    if index_is_fresh(index, now):
        return index
    if not _claim_read(index, now):
        return None  # another process reads it now: search, rather than wait for its calls
    try:
        done = _refresh(client, index, page_budget=pending // 2)
    except FunctionalError:
        index.refused_at = now
        index.save(update_fields=["refused_at"])
        return None
    except RetryableError:
        return None
    finally:
        ExactAccountIndex.objects.filter(pk=index.pk).update(reading_until=None)
    return index if done else None


def _claim_read(index: ExactAccountIndex, now) -> bool:
    """Claim the reading of the index with a conditional UPDATE (one reader at a time, no lock held during its
    calls: each page's progress is saved as it arrives, so a read cut short by the budget, a timeout or a killed
    worker goes on from there next time). DeferredError passes through: the search could not run either."""
    free = Q(reading_until__isnull=True) | Q(reading_until__lt=now)
    claimed = ExactAccountIndex.objects.filter(free, pk=index.pk).update(reading_until=now + READ_LEASE)
    if claimed:
        index.refresh_from_db()
    return bool(claimed)


def _refresh(client, index: ExactAccountIndex, *, page_budget: int) -> bool:
    """Read what changed since the cursor; True when the index is complete and current."""
    while True:
        if not index.complete and index.pages_read >= page_budget:
            return False  # the first read would cost more than the searches it saves
        rows, more = client.sync_page(
            index.division, ACCOUNTS, fields=ACCOUNT_FIELDS + ",Timestamp", after=index.cursor
        )
        if not index.complete:
            index.pages_read += 1
        _store(index, rows)
        if not more:
            break
    if index.complete:
        _apply_deletions(client, index)
    else:
        # Deletions before the first read are not in it; later ones have larger row versions [U].
        index.complete, index.deleted_cursor = True, index.cursor
    index.refreshed_at = timezone.now()
    index.save()
    return True


def _store(index: ExactAccountIndex, rows: list[dict]) -> None:
    if not rows:
        return
    ids = [UUID(str(row["ID"])) for row in rows]
    with transaction.atomic():  # a page and the cursor past it, together (no call inside)
        _replace_rows(index, ids, rows)


def _replace_rows(index: ExactAccountIndex, ids: list[UUID], rows: list[dict]) -> None:
    index.accounts.filter(account_id__in=ids).delete()
    ExactIndexedAccount.objects.bulk_create(
        ExactIndexedAccount(
            index=index,
            account_id=account_id,
            timestamp=int(row["Timestamp"]),
            fields={name: row.get(name) for name in ACCOUNT_FIELDS.split(",")},
            code_key=exact_key(str(row.get("Code") or "").lstrip(" "))[:64],  # the search pads as stored
            vat_key=exact_key(row.get("VATNumber"))[:64],
            email_key=exact_key(row.get("Email"))[:254],
        )
        for account_id, row in zip(ids, rows, strict=True)
    )
    index.cursor = max(index.cursor, *(int(row["Timestamp"]) for row in rows))
    index.save(update_fields=["cursor", "pages_read"])


def _apply_deletions(client, index: ExactAccountIndex) -> None:
    """One page of `sync/Deleted` a refresh (it lists every entity type; accounts are EntityType 2)."""
    rows, _ = client.sync_page(
        index.division, DELETED, fields="EntityKey,EntityType,Timestamp", after=index.deleted_cursor
    )
    gone = [UUID(str(row["EntityKey"])) for row in rows if int(row.get("EntityType") or 0) == ACCOUNTS_ENTITY]
    if gone:
        index.accounts.filter(account_id__in=gone).delete()
    if rows:
        index.deleted_cursor = max(index.deleted_cursor, *(int(row["Timestamp"]) for row in rows))
