"""Business rules shared by `salesentry/SalesEntries` and `salesentry/SalesEntryLines` [C S5, S8;
R S15, S17]. Messages use the Dutch catalogue observed in the sources."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .division import Division
from .errors import BusinessError, Messages

SALES_JOURNAL = 20
PROFIT_AND_LOSS = "W"
NO_VAT_AMOUNT = 'Een btw bedrag is niet toegestaan als u gebruikmaakt van een btw-code van het type "geen btw"'
TYPE_DESCRIPTIONS = {20: "Verkoopfactuur", 21: "Verkoopcreditnota"}


def money(value) -> float:
    """Round half-up to cents, as Exact's per-line VAT (picqer #662 shows the resulting ±0.01) [R S15]."""
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# -- header ---------------------------------------------------------------------------------------------
def check_header(division: Division, entry: dict, messages: Messages) -> dict | None:
    """Journal, customer, document and period; fills the derived descriptions. Returns the journal."""
    journal = _check_journal(division, entry, messages)
    _check_customer(division, entry, messages)
    _check_document(division, entry, messages)
    _check_dates(entry, messages)
    return journal


def _check_journal(division: Division, entry: dict, messages: Messages) -> dict | None:
    if not entry.get("Journal"):
        messages.add("Verplicht: Dagboek")
        return None
    journal = division.journal_by_code(entry["Journal"])
    # The journal is a code, not a GUID, and must be a sales journal (Type 20) [C S5; picqer #31].
    if journal is None or journal["Type"] != SALES_JOURNAL or journal["IsBlocked"]:
        messages.add("Ongeldige referentie: Journals")
        return None
    entry["Journal"] = journal["Code"]
    entry["JournalDescription"] = journal["Description"]
    return journal


def _check_customer(division: Division, entry: dict, messages: Messages) -> None:
    if not entry.get("Customer"):
        messages.add("Verplicht: Klant")
        return
    account = division.accounts.get(entry["Customer"])
    if account is None:
        messages.add("Ongeldige referentie: Klant")
    elif account["Status"] != "C":
        messages.add("Ongeldig: Klant (Type)")  # prospects, suppliers... (Informat, Coachview [R S17])
    elif account.get("Blocked"):
        messages.add("Geblokkeerd: Klant")
    else:
        entry["CustomerName"] = account["Name"]


def _check_document(division: Division, entry: dict, messages: Messages) -> None:
    if entry.get("Document") is None:
        entry["DocumentSubject"] = entry["DocumentNumber"] = None
        return
    document = division.documents.get(entry["Document"])
    if document is None:
        messages.add("Ongeldige referentie: Document")  # item 49
        return
    entry["DocumentSubject"], entry["DocumentNumber"] = document["Subject"], document["HID"]


def _check_dates(entry: dict, messages: Messages) -> None:
    if not 1 <= (entry.get("ReportingPeriod") or 0) <= 12:
        messages.add("Ongeldig: Periode")
    if entry.get("DueDate") and entry.get("EntryDate") and entry["DueDate"] < entry["EntryDate"]:
        messages.add("Ongeldig: Vervaldatum")


def derive_period(entry: dict, supplied: dict, today: datetime) -> None:
    """ReportingYear/Period follow EntryDate unless supplied [U: ossobv sends both, K S7]."""
    if entry.get("EntryDate") is None:
        entry["EntryDate"] = today.replace(hour=0, minute=0, second=0, microsecond=0)
    if "ReportingYear" not in supplied:
        entry["ReportingYear"] = entry["EntryDate"].year
    if "ReportingPeriod" not in supplied:
        entry["ReportingPeriod"] = entry["EntryDate"].month


def derive_due_date(division: Division, entry: dict, messages: Messages) -> None:
    """`DueDate` is computed from EntryDate + PaymentCondition when omitted [C S5]. The condition is the one
    posted, else the customer's `PaymentConditionSales`, else the division's default [C S5; U]."""
    code = entry.get("PaymentCondition")
    if code is None:
        customer = division.accounts.get(entry.get("Customer") or "") or {}
        code = customer.get("PaymentConditionSales") or division.default_payment_condition
    condition = division.payment_condition(code)
    if condition is None:
        messages.add("Ongeldige referentie: Betalingsconditie")  # Bookzo [R S17]
        return
    entry["PaymentCondition"], entry["PaymentConditionDescription"] = condition["Code"], condition["Description"]
    if (entry.get("DueDate") is None or entry.get("_DueDateDerived")) and entry.get("EntryDate") is not None:
        # A derived due date follows later changes of the date or condition; a posted one stays [U].
        entry["DueDate"] = entry["EntryDate"] + timedelta(days=condition["PaymentDays"])
        entry["_DueDateDerived"] = True


def closed_period_message(division: Division, entry: dict) -> str | None:
    period = (entry.get("ReportingYear"), entry.get("ReportingPeriod"))
    if period in division.closed_periods:
        return f"Periode is afgesloten: {period[0]} – {period[1]:02d}"  # Informat [R S17]
    return None


def ensure_mutable(division: Division, entry: dict) -> None:
    """Processed entries and closed periods refuse updates and deletes (item 42)."""
    if entry["Status"] == 50:
        raise BusinessError("Reeds verwerkt")  # Bookzo [R S17]
    message = closed_period_message(division, entry)
    if message:
        raise BusinessError(message)


def assign_entry_number(division: Division, entry: dict, messages: Messages, mode: str) -> None:
    """For a sales journal `EntryNumber` is the invoice number [C S5]: a client may supply either (or both,
    equal); it is accepted when free in the journal, a duplicate refused with `In gebruik: Boekstuknummer.`
    [R S17] or replaced by the next free number (mode "replace", ossobv's "silently ignored" [K S7])."""
    supplied = [n for n in (entry.get("EntryNumber"), entry.get("InvoiceNumber")) if n is not None]
    if len(set(supplied)) > 1:
        messages.add("Ongeldig: Factuurnummer")  # two different numbers for one sales invoice [U]
        return
    taken = {
        other["EntryNumber"]
        for other in division.entries.values()
        if other["Journal"] == entry["Journal"] and other["EntryID"] != entry["EntryID"]
    }
    number = supplied[0] if supplied else None
    if number in taken:
        if mode != "replace":
            messages.add("In gebruik: Boekstuknummer.")
            return
        number = None
    if number is None:
        number = _next_number(division, entry)
    entry["EntryNumber"] = entry["InvoiceNumber"] = number


def _next_number(division: Division, entry: dict) -> int:
    """The journal's yearly free-number range, "YYJJ0001" style (ossobv README [K]): one past the highest
    number of that journal and year, client-supplied ones included, so an automatic number is never taken."""
    journal = str(entry.get("Journal") or "0")
    journal_part = int(journal) if journal.isdigit() and int(journal) < 100 else 0
    base = (entry["ReportingYear"] % 100) * 1_000_000 + journal_part * 10_000
    numbers = [
        other["EntryNumber"]
        for other in division.entries.values()
        if other["Journal"] == entry.get("Journal")
        and other["ReportingYear"] == entry["ReportingYear"]
        and other["EntryID"] != entry["EntryID"]
        and other["EntryNumber"] is not None
    ]
    return max([base, *numbers]) + 1


def recompute_totals(division: Division, entry: dict, posted_type: int | None = None) -> None:
    """Header AmountFC = lines + VAT, VATAmountFC = sum of line VAT; Type 21 when negative [U, item 41]."""
    lines = division.lines_of(entry["EntryID"])
    vat = money(sum(line["VATAmountFC"] for line in lines))
    total = money(sum(line["VATBaseAmountFC"] for line in lines) + vat)
    entry["AmountFC"] = entry["AmountDC"] = total
    entry["VATAmountFC"] = entry["VATAmountDC"] = vat
    entry["Type"] = posted_type if posted_type in (20, 21) else (21 if total < 0 else 20)
    entry["TypeDescription"] = TYPE_DESCRIPTIONS[entry["Type"]]
    for line in lines:
        line["Type"] = entry["Type"]


def payment_reference(division: Division, entry: dict, values: dict, *, customer_changed: bool) -> None:
    """Exact generates a payment reference (`<customer code>/<entry number>`) when none is posted, and
    regenerates it when a PUT re-points `Customer` [R S19]; one posted in the same body is kept [U]."""
    if "PaymentReference" in values and values["PaymentReference"]:
        return
    if entry.get("PaymentReference") and not customer_changed:
        return
    account = division.accounts.get(entry.get("Customer") or "")
    code = account["Code"].strip() if account else ""
    entry["PaymentReference"] = f"{code}/{entry['EntryNumber']}"
