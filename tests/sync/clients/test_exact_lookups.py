"""Exact lookups: cached per installation and division for 12 hours, refreshed once for an unknown code."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import httpx
from django.utils import timezone

from sync.connections import lookup_memo
from sync.connections.exact import exact_client, exact_lookups
from sync.exact.lookups import ExactLookups
from sync.models import ExactLookupCache
from tests.sync.clients.conftest import odata
from tests.sync.clients.memory_access import MemoryExact, MemoryLookupStore

DIV = 1234567
GL = {
    "ID": "0b6f2c7e-1111-4a2b-8c3d-4e5f6a7b8c9d", "Code": "8000", "Description": "Omzet", "Type": 110,
    "BalanceType": "W", "UseCostcenter": 1, "UseCostunit": 0, "VATCode": "2  ", "IsBlocked": False,
}  # fmt: skip


def _vat(code, pct, tx="S", blocked=False):
    return {
        "Code": code,
        "Description": code,
        "Percentage": pct,
        "Type": "E",
        "VATTransactionType": tx,
        "IsBlocked": blocked,
    }


def _in_memory(router) -> ExactLookups:
    """Lookups on an in-memory store and access: no database."""
    return ExactLookups(MemoryExact().client(router.transport), store=MemoryLookupStore(), division=DIV)


def _lookups(connection, router) -> ExactLookups:
    client = exact_client(connection, transport=router.transport)
    return exact_lookups(client, installation=connection.installation, division=DIV)


def test_it_caches_lookups_in_the_database(connection, router):
    router.add("GET", f"/api/v1/{DIV}/financial/GLAccounts", odata(GL))
    first = _lookups(connection, router).gl_account("8000")
    second = _lookups(connection, router).gl_account("8000")
    assert first == second
    assert second.id == UUID(GL["ID"])
    assert second.use_cost_center == 1
    assert len(router.requests) == 1
    assert ExactLookupCache.objects.get(kind="gl_accounts").division == DIV


def test_it_refetches_once_when_a_code_is_unknown(router):
    router.add("GET", f"/api/v1/{DIV}/financial/Journals", odata({"Code": "70", "Description": "V", "Type": 20}))
    store = MemoryLookupStore()
    ExactLookups(MemoryExact().client(router.transport), store=store, division=DIV).all("journals")
    lookups = ExactLookups(MemoryExact().client(router.transport), store=store, division=DIV)
    assert lookups.journal("99") is None
    assert lookups.journal("98") is None
    assert lookups.journal("70").type == 20
    assert len(router.requests) == 2


def test_it_refetches_after_12_hours(connection, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costunits", odata({"Code": "CU1", "Description": "A"}))
    _lookups(connection, router).all("cost_units")
    ExactLookupCache.objects.update(fetched_at=timezone.now() - timedelta(hours=13))
    _lookups(connection, router).cost_unit("CU1")
    assert len(router.requests) == 2


def test_it_compares_vat_codes_trimmed(router):
    router.add("GET", f"/api/v1/{DIV}/vat/VATCodes", odata(_vat("2  ", 0.21)))
    vat = _in_memory(router).vat_code("2")
    assert (vat.code, vat.percentage) == ("2", Decimal("0.21"))


def test_sales_vat_codes_are_sales_or_both_and_not_blocked(router):
    rows = [_vat("1", 0.21), _vat("2", 0.09, "B"), _vat("3", 0.21, "P"), _vat("4", 0.21, blocked=True)]
    router.add("GET", f"/api/v1/{DIV}/vat/VATCodes", odata(*rows))
    assert [v.code for v in _in_memory(router).sales_vat_codes()] == ["1", "2"]


def test_invalidate_forgets_the_cached_lists(connection, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costcenters", odata({"Code": "100", "Description": "U"}))
    lookups = _lookups(connection, router)
    lookups.all("cost_centers")
    lookups.invalidate()
    assert not ExactLookupCache.objects.exists()
    assert lookups.cost_center("100").description == "U"
    assert len(router.requests) == 2


def test_a_failing_lookup_leaves_the_cache_alone(connection, router):
    router.add("GET", f"/api/v1/{DIV}/hrm/Costcenters", httpx.Response(503))
    try:
        _lookups(connection, router).all("cost_centers")
    except Exception:  # noqa: BLE001 - the point is what is left behind
        pass
    assert not ExactLookupCache.objects.exists()


def test_a_process_parses_a_stored_list_once_and_sees_another_processs_refetch(connection, router):
    router.add("GET", f"/api/v1/{DIV}/financial/GLAccounts", odata(GL))
    _lookups(connection, router).all("gl_accounts")
    row = ExactLookupCache.objects.get(kind="gl_accounts")
    assert _lookups(connection, router).gl_account("8000").description == "Omzet"
    # Another process fetched the list again (a new copy, a new fetched-at): this process's parsed list is old.
    row.data = [{**row.data[0], "description": "Omzet cursussen"}]
    row.fetched_at = timezone.now()
    row.save()
    assert _lookups(connection, router).gl_account("8000").description == "Omzet cursussen"
    assert len(router.requests) == 1


def test_the_parsed_lists_a_process_keeps_are_bounded():
    lookup_memo.forget_all()
    for n in range(lookup_memo.MAX_ENTRIES + 10):
        lookup_memo.remember(lookup_memo.memo_key(1, DIV, "vat_codes", n, timezone.now()), [])
    assert len(lookup_memo._entries) == lookup_memo.MAX_ENTRIES
    lookup_memo.forget_all()
