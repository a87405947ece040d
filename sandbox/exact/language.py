"""The language of Exact's business messages (item 24): Dutch for Dutch users, English for others [R S15].

The language is the one the client asks for in `Accept-Language` (nl or en), else the Exact user's own
(`Me.LanguageCode`, nl-NL by default). Messages are composed in Dutch; the English forms follow the samples
the sources quote (`Mandatory: Relationship`, `Invalid reference: Cost unit`, picqer #10, #325 [R]).
"""

from __future__ import annotations

DUTCH, ENGLISH = "nl", "en"

# "<prefix>: <label>" messages: the prefix and the label are translated separately.
PREFIXES = {
    "Verplicht": "Mandatory",
    "Ongeldige referentie": "Invalid reference",
    "Ongeldig": "Invalid",
    "Niet toegestaan": "Not allowed",
    "Geblokkeerd": "Blocked",
    "In gebruik": "In use",
    "Periode is afgesloten": "Period is closed",
}
LABELS = {
    "Klant": "Customer",
    "Klant (Type)": "Customer (Type)",
    "Dagboek": "Journal",
    "Journals": "Journals",
    "Grootboekrekening": "G/L account",
    "Grootboekrekeningtype": "G/L account type",
    "Kostenplaats": "Cost center",
    "Kostendrager": "Cost unit",
    "Btw-code": "VAT code",
    "Bedrag": "Amount",
    "Boekingsregels": "Lines",
    "Boeking": "Entry",
    "Naam": "Name",
    "Onderwerp": "Subject",
    "Type": "Type",
    "Bijlage": "Attachment",
    "Bestandsnaam": "File name",
    "Document": "Document",
    "Relatie": "Relation",
    "Land": "Country",
    "Betalingsconditie": "Payment condition",
    "Periode": "Period",
    "Vervaldatum": "Due date",
    "Boekstuknummer.": "Entry number.",
    "Factuurnummer": "Invoice number",
    "Status": "Status",
    "Code": "Code",
}
WHOLE = {
    "Reeds verwerkt": "Already processed",
    "Gegeven bestaat reeds.": "Data already exists.",
    'Een btw bedrag is niet toegestaan als u gebruikmaakt van een btw-code van het type "geen btw"': (
        'A VAT amount is not allowed when you use a VAT code of the type "no VAT"'
    ),
}


def request_language(accept_language: str | None, user_language: str | None) -> str:
    """nl or en: the first of Accept-Language's languages that Exact speaks, else the user's own."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith(ENGLISH):
            return ENGLISH
        if tag.startswith(DUTCH):
            return DUTCH
    return ENGLISH if (user_language or "nl").lower().startswith(ENGLISH) else DUTCH


def translate(message: str, language: str) -> str:
    """One Dutch business message in `language` (unknown messages are left as they are)."""
    if language != ENGLISH:
        return message
    if message in WHOLE:
        return WHOLE[message]
    if message.startswith("Can't delete:"):
        return message.replace("Verkoopboekingen", "Sales entries")
    prefix, separator, rest = message.partition(": ")
    if not separator or prefix not in PREFIXES:
        return message
    return f"{PREFIXES[prefix]}: {LABELS.get(rest, rest)}"
