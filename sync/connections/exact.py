"""The database side of an Exact Online connection, handed to the HTTP-only ExactClient.

`exact_client(connection)` builds the client of a stored ExactConnection: its tokens (refreshed under the
row lock, `exact_tokens.py`), its call budget shared by every process and the per-day call counter
(`exact_budget.py`). `exact_lookups(...)` gives the lookup lists of a division through ExactLookupCache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from plugin.models import ExactConnection, Installation
from sync.compiled_read import CompiledRead
from sync.connections import exact_budget, exact_tokens, lookup_memo
from sync.errors import AuthError, TokensUnreadable
from sync.exact.access import ExactAccess
from sync.exact.client import ExactClient
from sync.exact.lookups import ExactLookups, Parse
from sync.exact.regions import exact_base_url
from sync.models import ExactLookupCache

NOT_CONNECTED = "Exact Online is not connected; connect Exact Online on the settings page."
NEEDS_RECONNECT = "The Exact Online connection needs reconnecting on the settings page."


@dataclass
class StoredTokens:
    """The tokens of a stored connection (a TokenSource); the transport serves the token endpoint in tests."""

    connection: ExactConnection
    transport: httpx.BaseTransport | None = None

    def token(self, *, rejected: str | None = None) -> str:
        return exact_tokens.access_token_for(self.connection, rejected_token=rejected, transport=self.transport)

    def refused_again(self, token: str) -> Exception:
        return exact_tokens.token_refused_again(self.connection, token)

    def refused(self, message: str) -> Exception:
        return exact_tokens.connection_refused(self.connection, message)


@dataclass
class StoredBudget:
    """The call budget kept on the connection row (a CallBudget) and its per-day counter (a CallCounter)."""

    connection: ExactConnection
    # What the last take left of the budget: an answer that only confirms it is not stored again.
    _left: dict[str, Any] = field(default_factory=dict)
    # The budget as read with the connection (a client is built from a connection just read), until this budget
    # takes a call: a booking checks it before its first call, and reading the row again would tell the same.
    _as_read: dict[str, Any] | None = None
    # The day counts of a booking's calls, written together when its client closes (one UPDATE instead of one
    # per call; a worker killed mid-booking loses that booking's few counts, never a call of the budget above,
    # which every call still takes at once). None: each call is counted as it is answered.
    counts_kept: exact_budget.DayCounts | None = None

    def __post_init__(self) -> None:
        self._as_read = {name: getattr(self.connection, name) for name in exact_budget.BUDGET_FIELDS}

    def claim(self) -> None:
        self._as_read = None
        self._left = exact_budget.budget_claim(self.connection)

    def check(self, calls: int) -> None:
        exact_budget.budget_check(self.connection, calls=calls, row=self._as_read)

    def limits_seen(self, changes: dict[str, Any], *, status: int) -> None:
        news, lower_only = exact_budget.limits_worth_storing(self._left, changes, status=status)
        self._left = {}  # a second answer to one take (after a 401) is compared with nothing: stored
        if news:
            exact_budget.limits_record(self.connection, news, lower_only=lower_only)

    def count(self, *, path: str, status: int, daily_limit: int | None) -> None:
        if self.counts_kept is None:
            exact_budget.call_count(self.connection, path=path, status=status, daily_limit=daily_limit)
        else:
            exact_budget.call_tally(self.counts_kept, path=path, status=status, daily_limit=daily_limit)

    def flush(self) -> None:
        if self.counts_kept:
            counts, self.counts_kept = self.counts_kept, {}
            exact_budget.calls_write(self.connection, counts)


def exact_access(
    connection: ExactConnection, *, transport: httpx.BaseTransport | None = None, counts_at_close: bool = False
) -> ExactAccess:
    """What an ExactClient needs of a stored connection (`counts_at_close`: see StoredBudget.counts_kept)."""
    budget = StoredBudget(connection, counts_kept={} if counts_at_close else None)
    return ExactAccess(
        base_url=exact_base_url(connection.base_url),
        tokens=StoredTokens(connection, transport),
        budget=budget,
        counter=budget,
    )


def exact_client(
    connection: ExactConnection, *, transport: httpx.BaseTransport | None = None, counts_at_close: bool = False
) -> ExactClient:
    """The client of a stored connection (the transport, when given, also serves its token refreshes)."""
    access = exact_access(connection, transport=transport, counts_at_close=counts_at_close)
    return ExactClient(access, transport=transport)


# Read by every booking: compiled once (sync/compiled_read.py).
_CONNECTION = CompiledRead(lambda installation_id: ExactConnection.objects.filter(installation_id=installation_id)[:1])


def exact_client_for(
    installation: Installation, *, transport: httpx.BaseTransport | None = None, counts_at_close: bool = False
) -> ExactClient:
    """The client of the installation's connection, or AuthError when there is none usable. `counts_at_close`:
    the calls' day counts are written when the client closes (a booking, which always closes it)."""
    connection = next(iter(_CONNECTION.rows(installation.pk)), None)
    if connection is None:
        raise AuthError(NOT_CONNECTED)
    if connection.tokens_unreadable:
        raise TokensUnreadable(exact_tokens.UNREADABLE_MESSAGE, exact=True)
    if not connection.is_usable:
        raise AuthError(connection.last_error or NEEDS_RECONNECT)
    return exact_client(connection, transport=transport, counts_at_close=counts_at_close)


@dataclass
class StoredLookups:
    """The lookup lists of one installation in ExactLookupCache (a LookupStore), for one booking or request."""

    installation: Installation
    # Per division, each stored copy's id and fetched-at by kind: one query names every kind's copy for the
    # booking (a booking reads two or three kinds), instead of one query per kind.
    _copies: dict[int, dict[str, tuple[int, datetime]]] = field(default_factory=dict)

    def read(self, division: int, kind: str, parse: Parse) -> tuple[list, datetime] | None:
        """The stored copy's entities: its id and fetched-at read first, its JSON only when this process has
        not parsed that copy yet (lookup_memo)."""
        found = self._copies_of(division).get(kind)
        if found is None:
            return None
        row_id, fetched_at = found
        key = lookup_memo.memo_key(self.installation.pk, division, kind, row_id, fetched_at)
        rows = ExactLookupCache.objects.filter(pk=row_id)
        load = lambda: parse(rows.values_list("data", flat=True).first() or [])  # noqa: E731
        return lookup_memo.parsed(key, load), fetched_at

    def _copies_of(self, division: int) -> dict[str, tuple[int, datetime]]:
        if division not in self._copies:
            rows = ExactLookupCache.objects.filter(installation=self.installation, division=division)
            self._copies[division] = {kind: (pk, at) for kind, pk, at in rows.values_list("kind", "pk", "fetched_at")}
        return self._copies[division]

    def write(self, division: int, kind: str, rows: list[dict[str, Any]], fetched_at: datetime, items: list) -> None:
        row, _ = ExactLookupCache.objects.update_or_create(
            installation=self.installation,
            division=division,
            kind=kind,
            defaults={"data": rows, "fetched_at": fetched_at},
        )
        self._copies_of(division)[kind] = (row.pk, fetched_at)
        lookup_memo.remember(lookup_memo.memo_key(self.installation.pk, division, kind, row.pk, fetched_at), items)

    def clear(self, division: int) -> None:
        ExactLookupCache.objects.filter(installation=self.installation, division=division).delete()
        self._copies.pop(division, None)


def exact_lookups(client: ExactClient, *, installation: Installation, division: int) -> ExactLookups:
    """The lookup lists of a division, kept for every booking of the installation in the database."""
    return ExactLookups(client, store=StoredLookups(installation), division=division)
