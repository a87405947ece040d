"""The settings page: connection health, global settings checked against Exact, Sync from, VAT mapping."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import DatabaseError

from plugin.models import GlobalSettings, VatMapping
from plugin.services.settings_save import vat_mapping_save
from tests.factories import InvoiceRecordFactory
from tests.plugin.conftest import DIVISION, settings_values

pytestmark = pytest.mark.django_db


def test_it_shows_the_labels_as_in_the_eduframe_article(admin, connected):
    page = admin.get("/settings/").content.decode()
    for field, label in (
        ("division", "Division"),
        ("sync_from", "Sync from"),
        ("ledger_code", "Ledger code"),
        ("journal_code", "Journal code"),
        ("discount_ledger_code", "Discount ledger"),
    ):
        assert f'<label for="id_{field}">{label}</label>' in page
        assert f'id="id_{field}"' in page


def test_it_shows_the_health_of_the_connection(admin, connected):
    connected.minutely_remaining, connected.daily_remaining, connected.daily_limit = 58, 4990, 5000
    connected.last_error = "Exact Online could not be reached."
    connected.save()
    page = admin.get("/settings/").content.decode()
    assert "Demo Accountant" in page
    assert "demo@example.com" in page
    assert str(DIVISION) in page
    assert "58 this minute" in page
    assert "4990 of 5000 today" in page
    assert "Exact Online could not be reached." in page
    assert "Token last refreshed" in page
    assert "Last successful call" in page


def test_it_never_shows_a_token(admin, connected):
    page = admin.get("/settings/").content.decode()
    assert connected.access_token not in page
    assert connected.refresh_token not in page


def test_it_saves_settings_that_exact_accepts(admin, installation, connected):
    response = admin.post("/settings/", settings_values(ledger_code="8010", discount_ledger_code="8090"))
    assert response.status_code == 302
    row = GlobalSettings.objects.get(installation=installation)
    assert (row.ledger_code, row.journal_code, row.discount_ledger_code) == ("8010", "70", "8090")


def test_it_refuses_a_general_journal(admin, installation, connected):
    page = admin.post("/settings/", settings_values(journal_code="90")).content.decode()
    assert "Journal 90 is a general journal in division 1234567; choose a sales journal (for example 70)." in page
    assert GlobalSettings.objects.get(installation=installation).journal_code == "70"


def test_it_refuses_a_journal_that_does_not_exist(admin, connected):
    page = admin.post("/settings/", settings_values(journal_code="77")).content.decode()
    assert "Journal 77 does not exist in division 1234567" in page


def test_it_refuses_a_balance_sheet_ledger(admin, installation, connected):
    page = admin.post("/settings/", settings_values(ledger_code="1300")).content.decode()
    assert "Ledger 1300 (Debiteuren) is a balance sheet account in division 1234567" in page
    assert GlobalSettings.objects.get(installation=installation).ledger_code == "8000"


def test_it_refuses_a_division_the_user_cannot_reach(admin, connected):
    page = admin.post("/settings/", settings_values(division=999)).content.decode()
    assert "has no access to division 999" in page


def test_it_says_so_when_exact_cannot_be_reached(admin, installation, connected, settings):
    settings.EXACT_BASE_URL = "http://127.0.0.1:9"
    page = admin.post("/settings/", settings_values(ledger_code="8010")).content.decode()
    assert "nothing was saved" in page or "could not" in page
    assert GlobalSettings.objects.get(installation=installation).ledger_code == "8000"


@pytest.fixture
def two_invoices_before_sync_from(installation, eduframe_world):
    """Two open invoices dated today in Eduframe, while Sync from is tomorrow: moving it back adds them."""
    state = eduframe_world.state
    vat = state.add_vat("21%", "21.0")
    item = {"name": "Course", "units": 1, "unit_price": "100.00", "invoice_vat_id": vat["id"]}
    for name in ("Delta", "Polder"):
        state.add_invoice(state.add_account(name)["id"], [item], status="open")
    GlobalSettings.objects.filter(installation=installation).update(sync_from=date.today() + timedelta(days=1))
    return state


def test_moving_sync_from_back_takes_effect_at_once_and_says_what_it_adds(
    admin, installation, connected, two_invoices_before_sync_from, monkeypatch, django_capture_on_commit_callbacks
):
    started = []
    monkeypatch.setattr("sync.tasks.reconcile_installation_task.delay", lambda *args: started.append(args))
    earlier = date.today() - timedelta(days=90)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/settings/", settings_values(sync_from=earlier.isoformat()), follow=True)
    assert GlobalSettings.objects.get(installation=installation).sync_from == earlier
    assert started == [(installation.pk, earlier.isoformat())]
    page = response.content.decode()
    assert f"Settings saved. Sync from moved back to {earlier:%-d %b %Y}: 2 more invoices to book, about" in page
    assert "day of the daily budget)" in page


def test_the_estimate_of_an_earlier_sync_from_is_asked_before_saving(
    admin, installation, connected, two_invoices_before_sync_from
):
    earlier = date.today() - timedelta(days=90)
    answer = admin.get("/settings/sync-from-estimate", {"sync_from": earlier.isoformat()}).json()
    assert answer["invoices_added"] == 2
    assert answer["exact_calls"] > 0
    assert answer["text"].startswith(f"Saving moves Sync from back to {earlier:%-d %b %Y}: 2 more invoices to book")
    assert GlobalSettings.objects.get(installation=installation).sync_from == date.today() + timedelta(days=1)
    # A later date, or no date, adds nothing: nothing to say.
    later = (date.today() + timedelta(days=5)).isoformat()
    assert admin.get("/settings/sync-from-estimate", {"sync_from": later}).json() == {"text": ""}
    assert admin.get("/settings/sync-from-estimate", {"sync_from": "not a date"}).json() == {"text": ""}


def test_it_shows_the_backfill_progress(admin, installation, connected):
    since = GlobalSettings.objects.get(installation=installation).sync_from
    InvoiceRecordFactory(installation=installation, invoice_date=since, state="booked")
    InvoiceRecordFactory(installation=installation, invoice_date=since, state="pending")
    page = admin.get("/settings/").content.decode()
    assert '<progress max="2" value="1">' in page


def test_the_progress_bar_polls_the_backfill_progress_as_json(admin, installation, connected):
    since = GlobalSettings.objects.get(installation=installation).sync_from
    InvoiceRecordFactory(installation=installation, invoice_date=since, state="booked")
    InvoiceRecordFactory(installation=installation, invoice_date=since, state="pending")
    assert admin.get("/settings/progress").json() == {"done": 1, "total": 2}


def test_the_backfill_progress_needs_the_installations_session(client, connected):
    assert client.get("/settings/progress").status_code in (302, 403)


def test_it_suggests_the_vat_code_by_percentage(admin, connected, eduframe_world):
    page = admin.get("/settings/vat/").content.decode()
    high = eduframe_world.vats["high"]["id"]
    assert f'<label for="id_vat_{high}">21% BTW (21%)</label>' in page
    assert '<option value="2" selected>2 – BTW hoog 21% (21%)</option>' in page
    assert "Voorbelasting" not in page  # purchase VAT is not offered


def test_it_saves_the_vat_mapping(admin, installation, connected, eduframe_world):
    vats = eduframe_world.vats
    data = {f"vat_{vats['high']['id']}": "2", f"vat_{vats['low']['id']}": "1", f"vat_{vats['exempt']['id']}": "0"}
    assert admin.post("/settings/vat/", data).status_code == 302
    saved = dict(VatMapping.objects.filter(installation=installation).values_list("eduframe_vat_id", "exact_vat_code"))
    assert saved == {vats["high"]["id"]: "2", vats["low"]["id"]: "1", vats["exempt"]["id"]: "0"}


def test_the_vat_mapping_needs_exact(admin, installation, eduframe_world):
    response = admin.get("/settings/vat/", follow=True)
    assert "Exact Online is not connected" in response.content.decode()


def test_a_vat_mapping_save_that_fails_halfway_keeps_the_previous_mapping(installation, monkeypatch):
    rates = [
        SimpleNamespace(id=1, name="21%", percentage=Decimal("21")),
        SimpleNamespace(id=2, name="9%", percentage=9),
    ]
    real_save = VatMapping.save

    def save_failing_on_the_second_rate(row, *args, **kwargs):
        if row.eduframe_vat_id == 2 and row.exact_vat_code:
            raise DatabaseError("disk full")
        return real_save(row, *args, **kwargs)

    monkeypatch.setattr(VatMapping, "save", save_failing_on_the_second_rate)
    with pytest.raises(DatabaseError):
        vat_mapping_save(installation=installation, rates=rates, choices={1: "2", 2: "1"})
    assert not VatMapping.objects.filter(installation=installation).exists()


def test_a_first_visit_proposes_sync_from_a_week_back_so_only_the_codes_need_filling_in(admin, installation, connected):
    # As after choosing the division: the division is set, nothing else yet (README: "fill in the settings
    # (journal 70, ledger 8000)").
    GlobalSettings.objects.filter(installation=installation).update(sync_from=None, ledger_code="", journal_code="")
    proposed = (date.today() - timedelta(days=7)).isoformat()
    page = admin.get("/settings/").content.decode()
    assert f'name="sync_from" value="{proposed}"' in page

    response = admin.post("/settings/", settings_values(sync_from=proposed))
    assert response.status_code == 302
    row = GlobalSettings.objects.get(installation=installation)
    assert (row.sync_from.isoformat(), row.ledger_code, row.journal_code) == (proposed, "8000", "70")


def test_each_contract_label_names_one_field_even_when_matched_loosely(admin, connected):
    # A browser test finds a field by its label as a case-insensitive substring (Playwright's get_by_label
    # without exact=True): "Discount ledger code" made "Ledger code" name two inputs.
    import re

    page = admin.get("/settings/").content.decode()
    labels = re.findall(r"<label for=\"[^\"]+\">([^<]+)</label>", page)
    for word in ("Division", "Sync from", "Ledger code", "Journal code", "Alert e-mail"):
        assert [label for label in labels if word.lower() in label.lower()] == [word]
