"""The one Exact account that stands for an Eduframe account: stored id, else code, VAT number, email, else create.

Accountants merge and delete accounts in Exact, so a stored id is verified with one GET before use; a merged-away
id (GET answers nothing) leads to a search, never straight to a new account.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID

from sync.errors import AmbiguousError, FunctionalError
from sync.models import AccountLink

# Search order: our own code first (an account we created), then what an accountant may have typed in.
SEARCH_KEYS = (("Code", "code"), ("VATNumber", "vat_number"), ("Email", "email"))
# Exact's names of ExactAccount's attributes, to compare what is there with what we want.
ATTRIBUTES = {
    "Name": "name",
    "Email": "email",
    "Status": "status",
    "VATNumber": "vat_number",
    "AddressLine1": "address_line1",
    "Postcode": "postcode",
    "City": "city",
    "Country": "country",
}


def account_fingerprint(account_fields: dict) -> str:
    """Hash the account fields we send, to know whether Eduframe changed them since the last sync."""
    return hashlib.sha256(json.dumps(account_fields, sort_keys=True).encode()).hexdigest()


def _changed_fields(current, account_fields: dict) -> dict:
    """Fields whose Eduframe value differs from Exact's; empty Eduframe values never erase Exact's data."""
    changes = {}
    for field, attribute in ATTRIBUTES.items():
        wanted = account_fields.get(field) or ""
        if wanted and str(getattr(current, attribute) or "").strip().lower() != wanted.strip().lower():
            changes[field] = wanted
    return changes


def _bring_up_to_date(client, division: int, current, account_fields: dict, link: AccountLink | None) -> None:
    """PUT only what changed, and only when Eduframe changed it (or the account is not a customer yet)."""
    fingerprint = account_fingerprint(account_fields)
    unchanged_in_eduframe = link is not None and link.synced_fingerprint == fingerprint
    if unchanged_in_eduframe and current.status == "C":
        return  # an accountant's own edits in Exact stay until Eduframe changes the account
    changes = _changed_fields(current, account_fields)
    if changes:
        client.update_account(division, current.id, changes)


def _single_match(accounts: list):
    """Return the one customer among the matches, else the one match; None when none or ambiguous."""
    customers = [a for a in accounts if a.status == "C"]
    if len(customers) == 1:
        return customers[0]
    return accounts[0] if len(accounts) == 1 else None


def _search(client, division: int, account_fields: dict):
    """Find the account by our code, else VAT number, else e-mail: one call, the precedence applied here."""
    wanted = {field: (account_fields.get(field) or "").strip() for field, _ in SEARCH_KEYS}
    criteria = {keyword: wanted[field] for field, keyword in SEARCH_KEYS if wanted[field]}
    if not criteria:
        return None
    found = client.find_accounts(division, **criteria)
    for field, attribute in SEARCH_KEYS:
        if wanted[field]:
            same = [a for a in found if str(getattr(a, attribute) or "").strip().lower() == wanted[field].lower()]
            match = _single_match(same)
            if match is not None:
                return match
    return None


def _create_once(client, division: int, account_fields: dict):
    """Create the account; after a lost answer, adopt the one the lost request made (found by our code).

    A refusal is checked the same way: two invoices of one new Eduframe account booked at once both miss the
    account, and Exact refuses the second `Code` ("Gegeven bestaat reeds."); the loser adopts the winner's.
    """
    fields = {k: v for k, v in account_fields.items() if v}
    try:
        return client.create_account(division, fields)
    except (AmbiguousError, FunctionalError):
        match = _single_match(client.find_accounts(division, code=account_fields["Code"]))
        if match is None:
            raise
        return match


def _link_save(link: AccountLink, division: int, account, account_fields: dict) -> None:
    link.exact_division = division
    link.exact_account_id = account.id
    link.exact_code = account.code
    link.synced_fingerprint = account_fingerprint(account_fields)
    link.save()


def account_ensure(*, client, installation, division: int, account_fields: dict, eduframe_account_id: int) -> UUID:
    """Return the Exact account id for the Eduframe account, finding or creating it once, and keep it current."""
    link, _ = AccountLink.objects.get_or_create(installation=installation, eduframe_account_id=eduframe_account_id)
    current = None
    if link.exact_account_id and link.exact_division == division:
        current = client.get_account(division, link.exact_account_id)
    if current is None:
        current = _search(client, division, account_fields)
        if current is None:
            account = _create_once(client, division, account_fields)
            _link_save(link, division, account, account_fields)
            return account.id
        # A found account is not ours yet: bring it up to date (and make it a customer) regardless of the link.
        link.synced_fingerprint = ""
    _bring_up_to_date(client, division, current, account_fields, link)
    _link_save(link, division, current, account_fields)
    return current.id
