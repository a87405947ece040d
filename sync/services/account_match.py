"""The one Exact account that stands for an Eduframe account, and what EduExact may change on it.

Policy (README, "Customers in Exact"): EduExact writes only to Exact accounts it created itself (code
`EF<id>`); it books on an account an administrator linked, or on an existing account that matches by VAT
number or e-mail *and* by name, but never changes that account's fields. A VAT/e-mail match whose name
differs is never adopted silently: the invoice waits in "needs attention" with the candidate, and the
administrator links it or asks for a new account (`account_decide`).

Cost: a known Eduframe account whose fields did not change since they were last sent costs no call at all.
A new one costs one search, or none during a catch-up, where the division's account index answers the same
question (account_index.py, with what its staleness means).
Accountants merge and delete accounts in Exact; that is paid for only when it happens: Exact refuses the
document's or the entry's customer, `account_after_refusal` re-matches once, and the booking retries once.
"""

from __future__ import annotations

import hashlib
import json
import re
from uuid import UUID

from django.db import IntegrityError, transaction

from sync.errors import AmbiguousError, FunctionalError, NeedsDecision, NotFoundError
from sync.models import AccountLink
from sync.services.account_index import index_find, index_forget

Origin = AccountLink.Origin
# Search order: our own code first (an account we created), then what an accountant may have typed in.
SEARCH_KEYS = (("Code", "code"), ("VATNumber", "vat_number"), ("Email", "email"))
# Exact's names of ExactAccount's attributes, to compare what is there with what we want.
ATTRIBUTES = {
    "Code": "code",
    "Name": "name",
    "Email": "email",
    "Status": "status",
    "VATNumber": "vat_number",
    "AddressLine1": "address_line1",
    "Postcode": "postcode",
    "City": "city",
    "Country": "country",
}
OUR_CODE = re.compile(r"^EF\d+$", re.IGNORECASE)
MATCHED_BY = {"VATNumber": "VAT number", "Email": "e-mail address"}
# Legal forms and punctuation that do not make two names different ("Noord B.V." is "Noord").
LEGAL_FORMS = frozenset(
    "bv nv vof cv bvba sprl sa sarl gmbh ag kg ug ltd limited llc inc plc corp co stichting vereniging".split()
)
# Exact's words when the customer of a document or entry does not exist (merged, deleted) ...
CUSTOMER_MISSING = re.compile(
    r"(ongeldige referentie|invalid reference)\s*:\s*(klant|relatie|customer|account|relation)|klant werd niet gevonden",
    re.IGNORECASE,
)
# ... or exists but is no customer (a prospect or supplier).
CUSTOMER_NOT_A_CUSTOMER = re.compile(r"(ongeldig|invalid)\s*:\s*(klant|customer)\s*\(type\)", re.IGNORECASE)


def account_fingerprint(account_fields: dict) -> str:
    """Hash the account fields we send, to know whether Eduframe changed them since the last sync."""
    return hashlib.sha256(json.dumps(account_fields, sort_keys=True).encode()).hexdigest()


def name_key(name: str) -> str:
    """A name reduced to what identifies it: lower case, no punctuation, no legal form, no "…" of a cut name."""
    # Dots go first so that "B.V." reads as the legal form "bv", not as the letters "b" and "v".
    words = re.sub(r"[^\w]+", " ", (name or "").replace("…", " ").replace(".", "").lower()).split()
    return " ".join(word for word in words if word not in LEGAL_FORMS)


def names_match(ours: str, theirs: str) -> bool:
    """Tell whether two account names are the same name (ours may have been cut to Exact's length)."""
    a, b = name_key(ours), name_key(theirs)
    if not a or not b:
        return False
    return a == b or (ours.endswith("…") and b.startswith(a))


def customer_refusal(error: FunctionalError) -> str:
    """Tell how Exact refused the customer (or the document's account): "missing", "not_customer", or ""."""
    text = (error.message or "") if isinstance(error, FunctionalError) else ""
    if CUSTOMER_MISSING.search(text):
        return "missing"
    return "not_customer" if CUSTOMER_NOT_A_CUSTOMER.search(text) else ""


def _writable(account_fields: dict) -> dict:
    return {field: value for field, value in account_fields.items() if value}


def _changes_since_sent(link: AccountLink, account_fields: dict) -> dict:
    """Fields of our own account whose Eduframe value changed since last sent; empty values never erase Exact's."""
    sent = link.synced_fields or {}
    return {field: value for field, value in _writable(account_fields).items() if sent.get(field) != value}


def _single_match(accounts: list):
    """Return the one customer among the matches, else the one match; None when none or ambiguous."""
    customers = [a for a in accounts if a.status == "C"]
    if len(customers) == 1:
        return customers[0]
    return accounts[0] if len(accounts) == 1 else None


def _criteria(account_fields: dict, *, by_code_only: bool) -> tuple[tuple, dict, dict]:
    keys = SEARCH_KEYS[:1] if by_code_only else SEARCH_KEYS
    wanted = {field: (account_fields.get(field) or "").strip() for field, _ in keys}
    return keys, wanted, {keyword: wanted[field] for field, keyword in keys if wanted[field]}


def _find(client, division: int, account_fields: dict, *, by_code_only: bool, installation: int | None = None) -> list:
    """Every account matching our code, the VAT number or the e-mail address: one call, or none from the index.

    With `installation`, a catch-up's account index (account_index.py) answers when it pays; a repair after
    Exact refused an account always asks Exact itself.
    """
    _, _, criteria = _criteria(account_fields, by_code_only=by_code_only)
    if not criteria:
        return []
    if installation is not None:
        found = index_find(client, installation_id=installation, division=division, criteria=criteria)
        if found is not None:
            return found
    return client.find_accounts(division, **criteria)


def _pick(found: list, account_fields: dict, *, by_code_only: bool):
    """Our code first, then VAT number, then e-mail: return (account, the field it matched on) or (None, "")."""
    keys, wanted, _ = _criteria(account_fields, by_code_only=by_code_only)
    ours = (account_fields.get("Code") or "").strip().upper()
    # Our account for *another* Eduframe account (a shared e-mail address) is never this one's match.
    found = [a for a in found if not OUR_CODE.match((a.code or "").strip()) or (a.code or "").strip().upper() == ours]
    for field, attribute in keys:
        if wanted[field]:
            same = [a for a in found if str(getattr(a, attribute) or "").strip().lower() == wanted[field].lower()]
            match = _single_match(same)
            if match is not None:
                return match, field
    return None, ""


def _search(client, division: int, account_fields: dict, *, by_code_only: bool, installation: int | None = None):
    """Find the account by our code, else VAT number, else e-mail, in one call; return (account, matched field)."""
    found = _find(client, division, account_fields, by_code_only=by_code_only, installation=installation)
    return _pick(found, account_fields, by_code_only=by_code_only)


def _create_once(client, division: int, account_fields: dict):
    """Create the account; after a lost answer, adopt the one the lost request made (found by our code).

    A refusal is checked the same way: two invoices of one new Eduframe account booked at once both miss the
    account, and Exact refuses the second `Code` ("Gegeven bestaat reeds."); the loser adopts the winner's.
    """
    try:
        return client.create_account(division, _writable(account_fields))
    except (AmbiguousError, FunctionalError):
        match = _single_match(client.find_accounts(division, code=account_fields["Code"]))
        if match is None:
            raise
        return match


def _link_save(link: AccountLink, division: int, account, origin: str, account_fields: dict) -> UUID:
    link.exact_division = division
    link.exact_account_id = account.id
    link.exact_code = (account.code or "").strip()[:18]
    link.origin = origin
    link.synced_fingerprint = account_fingerprint(account_fields)
    link.candidate_account_id, link.candidate_code, link.candidate_name, link.candidate_matched_by = None, "", "", ""
    link.save()
    return account.id


def _own_account_update(client, division: int, account, link: AccountLink, account_fields: dict) -> None:
    """Bring an account we created up to date: only fields that differ from Exact's, and make it a customer."""
    changes = {}
    for field, value in _writable(account_fields).items():
        current = getattr(account, ATTRIBUTES[field], None) if field in ATTRIBUTES else None
        if str(current or "").strip().lower() != str(value).strip().lower():
            changes[field] = value
    if changes:
        client.update_account(division, account.id, changes)
    link.synced_fields = _writable(account_fields)


def _candidate_wait(link: AccountLink, division: int, account, matched_by: str, account_fields: dict) -> NeedsDecision:
    """Keep the candidate on the link and return the error that parks the invoice until an administrator decides."""
    link.candidate_account_id, link.exact_division = account.id, division
    link.candidate_code = (account.code or "").strip()[:18]
    link.candidate_name = (account.name or "")[:300]
    link.candidate_matched_by = MATCHED_BY[matched_by]
    link.synced_fingerprint = account_fingerprint(account_fields)
    link.save()
    return candidate_error(link, account_fields.get("Name") or "")


def candidate_error(link: AccountLink, our_name: str) -> NeedsDecision:
    """The words for an invoice that waits for the administrator's choice between candidate and a new account."""
    code = f" (code {link.candidate_code})" if link.candidate_code else ""
    return NeedsDecision(
        f"Exact already has an account '{link.candidate_name}'{code} with the same {link.candidate_matched_by} as "
        f"the Eduframe account '{our_name}', but another name or it is not a customer; EduExact does not book on "
        "or change an account it did not create without your say.",
        fix_hint="Open the invoice in the sync log and choose 'Link to this account' (book on it; its details in "
        "Exact are never changed) or 'Create a new account'.",
    )


def _adopt_found(client, division: int, link: AccountLink, account, matched_by: str, account_fields: dict) -> UUID:
    """Adopt what the search found, as the policy allows."""
    if matched_by == "Code":
        _own_account_update(client, division, account, link, account_fields)
        return _link_save(link, division, account, Origin.CREATED, account_fields)
    if names_match(account_fields.get("Name") or "", account.name or "") and account.status == "C":
        link.synced_fields = {}
        return _link_save(link, division, account, Origin.NAME_MATCH, account_fields)
    raise _candidate_wait(link, division, account, matched_by, account_fields)


def _match(client, division: int, link: AccountLink, account_fields: dict, *, use_index: bool = True) -> UUID:
    """No usable link: find the account (one call, or the index's), adopt it as the policy allows, else create it once."""
    fingerprint = account_fingerprint(account_fields)
    if link.candidate_account_id and not link.create_new and link.synced_fingerprint == fingerprint:
        raise candidate_error(link, account_fields.get("Name") or "")  # still waiting: no call to Exact
    installation = link.installation_id if use_index else None
    account, matched_by = _search(
        client, division, account_fields, by_code_only=link.create_new, installation=installation
    )
    if account is not None:
        return _adopt_found(client, division, link, account, matched_by, account_fields)
    return _create_and_link(client, division, link, account_fields)


def _create_and_link(client, division: int, link: AccountLink, account_fields: dict) -> UUID:
    account = _create_once(client, division, account_fields)
    link.synced_fields = _writable(account_fields)
    return _link_save(link, division, account, Origin.CREATED, account_fields)


def _admin_link_first_use(client, division: int, link: AccountLink, account_fields: dict) -> UUID | None:
    """An administrator's link is checked once: the account must exist; it is made a customer if it is not."""
    account = client.get_account(division, link.exact_account_id)
    if account is None:
        return None
    if account.status != "C":
        client.update_account(division, account.id, {"Status": "C"})  # the only change on a linked account
    return _link_save(link, division, account, Origin.ADMIN, account_fields)


def account_calls_ahead(link: AccountLink | None, division: int, account_fields: dict) -> int:
    """The Exact calls account_ensure will make at least, for the budget check before a booking (its cases)."""
    known = link is not None and link.exact_account_id and link.exact_division == division and link.origin
    if link is None or not known:
        return 2  # search and create (an adopted account costs less: the check only asks for enough)
    if link.origin == Origin.ADMIN and not link.synced_fingerprint:
        return 1  # the first use of an administrator's link reads the account
    if link.origin != Origin.CREATED or link.synced_fingerprint == account_fingerprint(account_fields):
        return 0
    return 1 if _changes_since_sent(link, account_fields) else 0


def account_ensure(
    *,
    client,
    installation,
    division: int,
    account_fields: dict,
    eduframe_account_id: int,
    link: AccountLink | None = None,
    link_read: bool = False,
) -> UUID:
    """Return the Exact account id for the Eduframe account: no call when known and unchanged since last sent.

    `link`: the account's link as the caller read it in this booking (read, or made, here when not given);
    `link_read`: the caller read it and found none, so it is made here without reading again.
    """
    if link is None:
        link = (
            _link_made(installation, eduframe_account_id)
            if link_read
            else _link_read_or_made(installation, eduframe_account_id)
        )
    known = link.exact_account_id and link.exact_division == division and link.origin
    if link.exact_account_id is None or not known:
        return _match(client, division, link, account_fields)
    if link.origin == Origin.ADMIN and not link.synced_fingerprint:
        found = _admin_link_first_use(client, division, link, account_fields)
        return found if found is not None else _forget_and_match(client, division, link, account_fields)
    if link.origin != Origin.CREATED or link.synced_fingerprint == account_fingerprint(account_fields):
        return link.exact_account_id  # not ours to change, or nothing changed since last sent
    changes = _changes_since_sent(link, account_fields)
    if changes:
        try:
            client.update_account(division, link.exact_account_id, changes)
        except NotFoundError:
            return _forget_and_match(client, division, link, account_fields)  # merged or deleted in Exact
    link.synced_fields = _writable(account_fields)
    link.synced_fingerprint = account_fingerprint(account_fields)
    link.save(update_fields=["synced_fields", "synced_fingerprint", "updated_at"])
    return link.exact_account_id


def _link_read_or_made(installation, eduframe_account_id: int) -> AccountLink:
    link, _ = AccountLink.objects.get_or_create(installation=installation, eduframe_account_id=eduframe_account_id)
    return link


def _link_made(installation, eduframe_account_id: int) -> AccountLink:
    """The link of a customer the booking found none for just now (an INSERT; another process may have made it)."""
    try:
        with transaction.atomic():
            return AccountLink.objects.create(installation=installation, eduframe_account_id=eduframe_account_id)
    except IntegrityError:
        return AccountLink.objects.get(installation=installation, eduframe_account_id=eduframe_account_id)


def _forget_and_match(client, division: int, link: AccountLink, account_fields: dict) -> UUID:
    """The linked account is gone from Exact: forget it (in the index too) and match again by asking Exact."""
    index_forget(installation_id=link.installation_id, division=division, account_id=link.exact_account_id)
    link.exact_account_id, link.origin, link.synced_fingerprint = None, Origin.NONE, ""
    return _match(client, division, link, account_fields, use_index=False)


def account_after_refusal(
    *, client, installation, division: int, account_fields: dict, eduframe_account_id: int, error: FunctionalError
) -> UUID:
    """Exact refused the customer we sent: repair it once and return the id to retry with, else re-raise `error`.

    An account that is no customer any more is made one again when it is ours or an administrator linked it.
    A missing one (merged or deleted) is re-matched under the policy: one search, a 200 even when nothing
    matches, so no extra error answer towards Exact's hourly block. Anything else (a blocked account, one that
    is still there) is re-raised: a retry would only repeat the refusal.
    """
    refusal = customer_refusal(error)
    link = AccountLink.objects.filter(installation=installation, eduframe_account_id=eduframe_account_id).first()
    if not refusal or link is None or link.exact_account_id is None:
        raise error
    if refusal == "not_customer":
        if link.origin not in (Origin.CREATED, Origin.ADMIN):
            raise error  # not ours to change: the hint asks the administrator to make it a customer in Exact
        client.update_account(division, link.exact_account_id, {"Status": "C"})
        return link.exact_account_id
    if link.origin == Origin.ADMIN:
        if client.get_account(division, link.exact_account_id) is not None:
            raise error
        return _forget_and_match(client, division, link, account_fields)
    found = _find(client, division, account_fields, by_code_only=link.create_new)
    if any(account.id == link.exact_account_id for account in found):
        raise error
    index_forget(installation_id=installation.pk, division=division, account_id=link.exact_account_id)
    link.exact_account_id, link.origin, link.synced_fingerprint = None, Origin.NONE, ""
    match, matched_by = _pick(found, account_fields, by_code_only=link.create_new)
    if match is not None:
        return _adopt_found(client, division, link, match, matched_by, account_fields)
    return _create_and_link(client, division, link, account_fields)
