"""Entity types: property names, Edm types and whether POST/PUT may set them (from S5's metadata).

Used for three things: refusing unknown properties in bodies, silently dropping read-only ones
[C S5, K S7], and knowing each property's type for `$filter`/`$select` and serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Edm types used here. int64 is serialised as a JSON string (Edm.Int64) [C S5, S10].
GUID, STR, INT, INT64, FLOAT, DATE, BOOL, BINARY = "guid", "str", "int", "int64", "float", "date", "bool", "binary"
RW, POST_ONLY, READ = "rw", "p", "r"


@dataclass(frozen=True)
class EntitySpec:
    name: str  # e.g. "Account"
    key: str
    key_type: str
    fields: dict[str, tuple[str, str]]  # name -> (type, mode)
    navigations: dict[str, str] = field(default_factory=dict)  # name -> child EntitySpec.name
    # Longest text a string property takes. The reference gives only Code (18) [C S5]; the others are
    # conservative assumptions [U] so that a client which never cuts its texts is caught here.
    max_lengths: dict[str, int] = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        return f"Exact.Web.Api.Models.{self.name}"

    def field_type(self, name: str) -> str | None:
        entry = self.fields.get(name)
        return entry[0] if entry else None


def _fields(mode: str, typ: str, *names: str) -> dict[str, tuple[str, str]]:
    return {name: (typ, mode) for name in names}


# The rest of Exact's Account properties (S5 metadata; the full record ossobv's elements/relation.py shows
# [K S7]), so that a client posting them is not refused as sending unknown properties (item 18).
ACCOUNT_MORE = {
    **_fields(RW, GUID, "AccountManager", "Accountant", "ActivitySector", "ActivitySubSector", "BusinessType"),
    **_fields(RW, GUID, "Classification", "Classification1", "Classification2", "Classification3"),
    **_fields(RW, GUID, "Classification4", "Classification5", "Classification6", "Classification7"),
    **_fields(RW, GUID, "Classification8", "CompanySize", "Document", "GLAP", "GLAR", "GLAccountPurchase"),
    **_fields(RW, GUID, "GLAccountSales", "LeadSource", "PriceList", "Reseller", "ShippingMethod", "BRIN"),
    **_fields(RW, STR, "CodeAtSupplier", "Costcenter", "DunsNumber", "Fax", "IntraStatArea"),
    **_fields(RW, STR, "IntraStatDeliveryTerm", "IntraStatSystem", "IntraStatTransactionA"),
    **_fields(RW, STR, "IntraStatTransactionB", "IntraStatTransportMethod", "LogoFileName", "PhoneExtension"),
    **_fields(RW, STR, "PaymentConditionPurchase", "PurchaseCurrency", "PurchaseVATCode", "VATLiability"),
    **_fields(RW, STR, "EORINumber", "GlnNumber", "OINNumber", "BSN", "LanguageCode"),
    **_fields(RW, INT, "InvoiceAttachmentType", "InvoicingMethod", "ConsolidationScenario", "CostPaid"),
    **_fields(RW, INT, "IsAccountant", "IsAgency", "IsCompetitor", "IsMailing", "PurchaseLeadDays"),
    **_fields(RW, INT, "SecurityLevel", "SeparateInvPerProject", "SeparateInvPerSubscription", "ShippingLeadDays"),
    **_fields(RW, FLOAT, "CreditLinePurchase", "CreditLineSales", "DiscountPurchase", "DiscountSales"),
    **_fields(RW, FLOAT, "Latitude", "Longitude"),
    **_fields(RW, BOOL, "CanDropShip", "IsBank", "IsMember", "IsPilot", "IsReseller", "RecepientOfCommissions"),
    **_fields(RW, BOOL, "AutomaticProcessProposedEntry", "ShowRemarkForSales"),
    **_fields(RW, DATE, "ControlledDate", "CustomerSince", "EndDate", "StartDate"),
    "Logo": (BINARY, RW),
    **_fields(READ, STR, "AccountManagerFullName", "ClassificationDescription", "CostcenterDescription"),
    **_fields(READ, STR, "CreatorFullName", "InvoiceAccountCode", "InvoiceAccountName", "LanguageDescription"),
    **_fields(READ, STR, "LogoThumbnailUrl", "LogoUrl", "ModifierFullName", "PaymentConditionPurchaseDescription"),
    **_fields(READ, STR, "PaymentConditionSalesDescription", "PurchaseCurrencyDescription", "ResellerCode"),
    **_fields(READ, STR, "ResellerName", "SalesCurrencyDescription", "SalesVATCodeDescription", "StateName"),
    **_fields(READ, STR, "PurchaseVATCodeDescription"),
    **_fields(READ, GUID, "Creator", "Modifier"),
    **_fields(READ, INT, "AccountManagerHID"),
    **_fields(READ, DATE, "StatusSince"),
}

ACCOUNT = EntitySpec(
    "Account",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(RW, STR, "Code", "Name", "Status", "Email", "Phone", "Website", "AddressLine1", "AddressLine2"),
        **_fields(RW, STR, "AddressLine3", "Postcode", "City", "State", "Country", "VATNumber", "ChamberOfCommerce"),
        **_fields(RW, STR, "RSIN", "SearchCode", "Remarks", "Language", "PaymentConditionSales", "SalesVATCode"),
        **_fields(RW, STR, "SalesCurrency"),
        **_fields(RW, GUID, "InvoiceAccount", "Parent", "MainContact"),
        **_fields(RW, BOOL, "IsSupplier", "Blocked"),
        **_fields(READ, BOOL, "IsSales", "IsPurchase"),
        **_fields(READ, STR, "Type", "CountryName", "StatusDescription"),
        **_fields(READ, DATE, "Created", "Modified"),
        "Division": (INT, READ),
        **ACCOUNT_MORE,
    },
    {"BankAccounts": "BankAccount"},
    {"Name": 50, "Email": 100, "AddressLine1": 100, "Postcode": 20, "City": 50, "VATNumber": 30},
)

SALES_ENTRY_LINE = EntitySpec(
    "SalesEntryLine",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(RW, GUID, "EntryID", "GLAccount", "Project", "Asset", "Subscription"),
        **_fields(RW, FLOAT, "AmountFC", "VATAmountFC", "VATPercentage", "VATBaseAmountFC", "VATBaseAmountDC"),
        **_fields(RW, FLOAT, "Quantity"),
        **_fields(RW, STR, "VATCode", "Description", "Notes", "CostCenter", "CostUnit", "SerialNumber"),
        **_fields(RW, STR, "TrackingNumber"),
        **_fields(RW, DATE, "From", "To"),
        **_fields(READ, FLOAT, "AmountDC", "VATAmountDC"),
        **_fields(READ, INT, "LineNumber", "Type", "Division"),
        **_fields(READ, STR, "GLAccountCode", "GLAccountDescription", "VATCodeDescription"),
        **_fields(READ, STR, "CostCenterDescription", "CostUnitDescription"),
    },
    max_lengths={"Description": 60},
)

SALES_ENTRY = EntitySpec(
    "SalesEntry",
    "EntryID",
    GUID,
    {
        "EntryID": (GUID, READ),
        **_fields(RW, STR, "Journal", "PaymentCondition", "YourRef", "Description", "PaymentReference"),
        **_fields(RW, STR, "Currency", "ExternalLinkReference"),
        **_fields(RW, GUID, "Customer", "Document"),
        **_fields(RW, DATE, "EntryDate", "DueDate"),
        **_fields(RW, INT, "EntryNumber", "InvoiceNumber", "OrderNumber", "ReportingPeriod", "ReportingYear"),
        **_fields(RW, INT, "BatchNumber", "ProcessNumber"),
        **_fields(RW, FLOAT, "Rate", "VATAmountFC", "GAccountAmountFC"),
        "Reversal": (BOOL, RW),
        **_fields(READ, FLOAT, "AmountFC", "AmountDC", "VATAmountDC"),
        **_fields(READ, INT, "Type", "Status", "Division", "DocumentNumber"),
        **_fields(READ, STR, "CustomerName", "JournalDescription", "DocumentSubject", "StatusDescription"),
        **_fields(READ, STR, "TypeDescription", "PaymentConditionDescription"),
        **_fields(READ, DATE, "Created", "Modified"),
    },
    {"SalesEntryLines": "SalesEntryLine"},
    {"Description": 60, "YourRef": 30, "PaymentReference": 50},
)

DOCUMENT = EntitySpec(
    "Document",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(RW, STR, "Subject", "Body", "Currency", "Language"),
        **_fields(RW, INT, "Type", "SalesInvoiceNumber"),
        **_fields(RW, GUID, "Account", "Category", "DocumentFolder", "FinancialTransactionEntryID"),
        "DocumentDate": (DATE, RW),
        "AmountFC": (FLOAT, RW),
        **_fields(READ, STR, "TypeDescription", "AccountCode", "AccountName", "DocumentViewUrl"),
        "HID": (INT, READ),
        "HasEmptyBody": (BOOL, READ),
        **_fields(READ, DATE, "Created", "Modified"),
        "Division": (INT, READ),
    },
)

DOCUMENT_ATTACHMENT = EntitySpec(
    "DocumentAttachment",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        "Document": (GUID, POST_ONLY),
        "FileName": (STR, POST_ONLY),
        "Attachment": (BINARY, POST_ONLY),
        "FileSize": (FLOAT, READ),
        "Url": (STR, READ),
        "Division": (INT, READ),
    },
)

GL_ACCOUNT = EntitySpec(
    "GLAccount",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(READ, STR, "Code", "Description", "BalanceType", "BalanceSide", "VATCode", "TypeDescription"),
        **_fields(READ, INT, "Type", "UseCostcenter", "UseCostunit", "Division"),
        "IsBlocked": (BOOL, READ),
    },
)

JOURNAL = EntitySpec(
    "Journal",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(READ, STR, "Code", "Description", "Currency", "TypeDescription"),
        **_fields(READ, INT, "Type", "Division"),
        **_fields(READ, BOOL, "AllowVAT", "AllowVariableCurrency", "IsBlocked"),
    },
)

COST_CENTER = EntitySpec(
    "Costcenter",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(READ, STR, "Code", "Description"),
        "Active": (BOOL, READ),
        "Division": (INT, READ),
    },
)

COST_UNIT = EntitySpec(
    "Costunit",
    "ID",
    GUID,
    {"ID": (GUID, READ), **_fields(READ, STR, "Code", "Description"), "Division": (INT, READ)},
)

VAT_CODE = EntitySpec(
    "VATCode",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(READ, STR, "Code", "Description", "Type", "VATTransactionType"),
        "Percentage": (FLOAT, READ),
        "IsBlocked": (BOOL, READ),
        "Division": (INT, READ),
    },
)

ME = EntitySpec(
    "System.Me",
    "UserID",
    GUID,
    {
        "UserID": (GUID, READ),
        **_fields(READ, INT, "CurrentDivision", "AccountingDivision", "DossierDivision", "ServerUtcOffset"),
        **_fields(READ, GUID, "DivisionCustomer"),
        **_fields(READ, STR, "DivisionCustomerCode", "DivisionCustomerName", "DivisionCustomerVatNumber"),
        **_fields(READ, STR, "Email", "FullName", "FirstName", "LastName", "UserName", "LanguageCode"),
        **_fields(READ, STR, "Language", "PackageCode", "ServerTime", "PictureUrl"),
        "Legislation": (INT64, READ),
        **_fields(READ, BOOL, "IsClientUser", "IsAccountant", "IsEmployeeSelfServiceUser"),
    },
)

DIVISION = EntitySpec(
    "System.Division",
    "Code",
    INT,
    {
        "Code": (INT, READ),
        **_fields(READ, STR, "Description", "CustomerName", "CustomerCode", "Country", "Currency"),
        "Hid": (INT64, READ),
        "Current": (BOOL, READ),
        "Customer": (GUID, READ),
        **_fields(READ, INT, "Status", "BlockingStatus"),
        **_fields(READ, DATE, "StartDate", "ArchiveDate"),
    },
)

WEBHOOK_SUBSCRIPTION = EntitySpec(
    "WebhookSubscription",
    "ID",
    GUID,
    {
        "ID": (GUID, READ),
        **_fields(RW, STR, "CallbackURL", "Topic"),
        **_fields(READ, STR, "ClientID", "Description"),
        **_fields(READ, GUID, "UserID", "Creator"),
        "Division": (INT, READ),
        "IsInstant": (BOOL, READ),
        "Created": (DATE, READ),
    },
)

ALL_DIVISION = EntitySpec("System.AllDivision", "Code", INT, DIVISION.fields)

SPECS = {
    spec.name: spec
    for spec in (ACCOUNT, SALES_ENTRY, SALES_ENTRY_LINE, DOCUMENT, DOCUMENT_ATTACHMENT, GL_ACCOUNT, JOURNAL)
    + (COST_CENTER, COST_UNIT, VAT_CODE, ME, DIVISION, ALL_DIVISION, WEBHOOK_SUBSCRIPTION)
}
