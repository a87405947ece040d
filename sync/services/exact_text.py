"""Texts as Exact Online takes them: field lengths, ISO country codes, a name it will not refuse.

Exact's REST reference (start.exactonline.nl/docs/HlpRestAPIResources.aspx) gives no field lengths (only
`Code`: 18), so the limits below are conservative assumptions, the same the simulator enforces. Each rule that changes or drops a value returns a note,
which lands in the attempt's decisions so the administrator sees why Exact shows something shorter.

Rules: a name, street, city or description is cut and ends in "…"; an entry description keeps the
appended " - {feature}" whole (accountants search on it) and cuts Eduframe's description instead; values
that would be wrong once cut (e-mail, VAT number, payment reference, postcode) are left out instead.
"""

from __future__ import annotations

ELLIPSIS = "…"
# Conservative limits (not in Exact's reference); the sandbox refuses longer values.
ACCOUNT_LIMITS = {"Name": 50, "AddressLine1": 100, "City": 50}
ACCOUNT_DROP_LIMITS = {"Email": 100, "VATNumber": 30, "Postcode": 20}
DESCRIPTION_LIMIT = 60
YOUR_REF_LIMIT = 30
PAYMENT_REFERENCE_LIMIT = 50
# Country names (and ISO-3 codes) Eduframe tenants type instead of the ISO-2 code Exact wants (Exact's reference,
# crm/Accounts: `Country` is an ISO-2 code).
COUNTRY_ALIASES = {
    "nederland": "NL", "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "nld": "NL",
    "belgie": "BE", "belgië": "BE", "belgium": "BE", "belgique": "BE", "bel": "BE",
    "duitsland": "DE", "germany": "DE", "deutschland": "DE", "deu": "DE",
    "frankrijk": "FR", "france": "FR", "fra": "FR", "luxemburg": "LU", "luxembourg": "LU", "lux": "LU",
    "verenigd koninkrijk": "GB", "united kingdom": "GB", "uk": "GB", "gbr": "GB",
}  # fmt: skip


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, ending in "…" when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def entry_description(description: str, feature: str) -> str:
    """Description plus " - {feature}" within Exact's limit: the feature stays whole, the description is cut."""
    suffix = f" - {feature.strip()}" if feature and feature.strip() else ""
    if len(suffix) >= DESCRIPTION_LIMIT // 2:
        suffix = clip(suffix, DESCRIPTION_LIMIT // 2)
    return clip(description, DESCRIPTION_LIMIT - len(suffix)) + suffix


def country_code(raw: str) -> tuple[str, str]:
    """Return (ISO-2 code or "", note): Exact refuses anything else ("Ongeldige referentie: Land")."""
    text = (raw or "").strip()
    if not text:
        return "", ""
    if len(text) == 2 and text.isalpha():
        return text.upper(), ""
    code = COUNTRY_ALIASES.get(text.lower(), "")
    if code:
        return code, f"Country '{text}' sent to Exact as {code}."
    return "", f"Country '{text}' is not an ISO country code: left out of the Exact account."


def account_texts(fields: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Fit the account's texts to Exact's limits; return the fields and a note per change."""
    fitted, notes = dict(fields), []
    for name, limit in ACCOUNT_LIMITS.items():
        value = fitted.get(name) or ""
        if len(value) > limit:
            fitted[name] = clip(value, limit)
            notes.append(f"Account {name} cut to {limit} characters for Exact.")
    for name, limit in ACCOUNT_DROP_LIMITS.items():
        value = fitted.get(name) or ""
        if len(value) > limit:
            fitted[name] = ""
            notes.append(f"Account {name} is longer than Exact takes ({limit} characters): left out.")
    return fitted, notes


def line_description(text: str) -> str:
    """An entry line's description within Exact's limit."""
    return clip(text, DESCRIPTION_LIMIT)


def payment_reference(reference: str) -> tuple[str, str]:
    """Return (reference or "", note): a cut reference would match no bank transfer, so a long one is left out."""
    if len(reference) <= PAYMENT_REFERENCE_LIMIT:
        return reference, ""
    return "", f"Payment reference longer than {PAYMENT_REFERENCE_LIMIT} characters: left to Exact."


def your_ref(number: str) -> tuple[str, str]:
    """Return (YourRef, note): the invoice number, cut to Exact's limit (the dedupe key stays stable)."""
    if len(number) <= YOUR_REF_LIMIT:
        return number, ""
    return number[:YOUR_REF_LIMIT], f"Invoice number cut to {YOUR_REF_LIMIT} characters for YourRef."


def reversal_ref(number: str) -> str:
    """YourRef of the entry reversing the invoice's: never equal to the invoice's own (the dedupe key)."""
    return f"{number[: YOUR_REF_LIMIT - 2]}-R"


def account_name(name: str, fallback: str, eduframe_account_id) -> tuple[str, str]:
    """Return (name, note): Exact requires a name ("Verplicht: Naam"); Eduframe's may be empty."""
    if name.strip():
        return name, ""
    chosen = fallback.strip() or f"Eduframe account {eduframe_account_id}"
    return chosen, f"The Eduframe account has no name: the Exact account is named '{chosen}'."
