"""`crm/Accounts`: relations. Codes are 18-character right-aligned strings [C S5]."""

from __future__ import annotations

from .countries import COUNTRY_NAMES, ISO_COUNTRIES
from .errors import BusinessError, Messages
from .odata import new_guid
from .resources import Ctx, Resource
from .schema import ACCOUNT

CODE_WIDTH = 18
STATUSES = {"A": "Geen", "S": "Suspect", "P": "Prospect", "C": "Klant"}
# A POST without Status gets "A" (none) [U]: a client that forgets "C" then meets `Ongeldig: Klant (Type)`
# when booking, as it would against a real division whose default is not "customer".
DEFAULT_STATUS = "A"
# Fields accepted by mandatory filtering: the list of Exact's own refusal quoted in picqer #591 [R S15].
FILTER_FIELDS = frozenset(
    "Accountant AccountManager AddressLine1 AddressLine2 AddressLine3 Blocked BRIN BSN ChamberOfCommerce City "
    "Classification1 Classification2 Classification3 Classification4 Classification5 Classification6 "
    "Classification7 Classification8 Classification Code CodeAtSupplier Country Created Email EndDate Fax ID "
    "InvoiceAccount IsAccountant IsReseller IsSales IsSupplier MainContact Modified Name Parent Phone Postcode "
    "PriceList Reseller RSIN SearchCode StartDate Status Type VATNumber".split()
)


def pad_code(code: str) -> str:
    return code.strip().rjust(CODE_WIDTH)


class Accounts(Resource):
    path = "crm/Accounts"
    spec = ACCOUNT
    methods = ("GET", "POST", "PUT", "DELETE")
    mandatory_filter = FILTER_FIELDS

    def store(self, ctx: Ctx) -> dict:
        return ctx.division.accounts

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        row = {name: None for name in ACCOUNT.fields}
        row.update({"ID": new_guid(), "Status": DEFAULT_STATUS, "Type": "A", "Blocked": False, "IsSupplier": False})
        row.update(values)
        if not (values.get("Code") or "").strip():
            row["Code"] = next_code(ctx.division.accounts)
        self._validate(ctx, row, None)
        self._derive(ctx, row)
        row["Created"] = ctx.local_now
        ctx.division.accounts[row["ID"]] = row
        return row

    def update(self, ctx: Ctx, row: dict, values: dict, navs: dict) -> None:
        candidate = {**row, **values}
        self._validate(ctx, candidate, row["ID"])
        self._derive(ctx, candidate)
        row.update(candidate)

    def delete(self, ctx: Ctx, row: dict) -> None:
        if any(entry["Customer"] == row["ID"] for entry in ctx.division.entries.values()):
            # Shape of tim-online's "Can't delete: Account 58 - Used in: Administrations" [R S11].
            raise BusinessError(f"Can't delete: Account {row['Code'].strip()} - Used in: Verkoopboekingen")
        del ctx.division.accounts[row["ID"]]

    def _validate(self, ctx: Ctx, row: dict, own_id: str | None) -> None:
        messages = Messages()
        if not (row.get("Name") or "").strip():
            messages.add("Verplicht: Naam")
        code = (row.get("Code") or "").strip()
        if len(code) > CODE_WIDTH:
            messages.add("Ongeldig: Code")
        elif any(pad_code(code) == other["Code"] and other["ID"] != own_id for other in ctx.division.accounts.values()):
            messages.add("Gegeven bestaat reeds.")  # duplicate, as in picqer #416 [R S15]
        if row.get("Status") not in STATUSES:
            messages.add("Ongeldig: Status")
        country = (row.get("Country") or "").strip().upper()
        if country and country not in ISO_COUNTRIES:
            messages.add("Ongeldige referentie: Land")
        for field in ("PaymentConditionSales", "PaymentConditionPurchase"):
            if row.get(field) is not None and ctx.division.payment_condition(row[field]) is None:
                messages.add("Ongeldige referentie: Betalingsconditie")  # Bookzo [R S17]
        messages.raise_if_any()

    def _derive(self, ctx: Ctx, row: dict) -> None:
        row["Code"] = pad_code(row["Code"])
        country = (row.get("Country") or "").strip().upper()
        row["Country"] = country.ljust(3) if country else None  # "NL " [C S10]
        row["CountryName"] = COUNTRY_NAMES.get(country)
        row["IsSales"] = row["Status"] == "C"  # derived, read-only [C S5]
        row["IsPurchase"] = True  # obsolete flag, read back true whatever was posted [C S10]
        row["StatusDescription"] = STATUSES[row["Status"]]
        for field in ("PaymentConditionSales", "PaymentConditionPurchase"):
            condition = ctx.division.payment_condition(row.get(field))
            row[field] = condition["Code"] if condition else None
            row[f"{field}Description"] = condition["Description"] if condition else None
        row["Division"] = ctx.division.code
        row["Modified"] = ctx.local_now


def next_code(accounts: dict) -> str:
    """Highest numeric code + 1: a recorded POST without Code got "           0000011" [C S10]."""
    numbers = [int(row["Code"]) for row in accounts.values() if row["Code"].strip().isdigit()]
    return pad_code(str(max(numbers, default=0) + 1))
