"""Checks of codes against Exact Online, worded for the administrator ("what is wrong, what to choose")."""

from __future__ import annotations

from plugin.models import ExactConnection, Installation
from sync.connections.exact import exact_client, exact_lookups
from sync.errors import AuthError, NotFoundError, RetryableError, SyncError

SALES_JOURNAL = 20
REVENUE_ACCOUNT = 110
JOURNAL_TYPES = {
    10: "cash journal",
    12: "bank journal",
    20: "sales journal",
    21: "sales return journal",
    22: "purchase journal",
    23: "purchase return journal",
    90: "general journal",
}


class ExactUnavailable(Exception):
    """Exact could not be asked: nothing is saved, and the administrator is told why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CodeChecker:
    """Looks codes up in one division; each `check_*` returns an error message or ""."""

    def __init__(self, *, installation: Installation, connection: ExactConnection | None, division: int | None):
        if connection is None or not connection.is_usable:
            raise ExactUnavailable("Exact Online is not connected: connect it first, then save again.")
        if not division:
            raise ExactUnavailable("Choose a division first: the codes are checked in that division.")
        self.division = division
        self.lookups = exact_lookups(exact_client(connection), installation=installation, division=division)

    def _find(self, method, *args):
        try:
            return method(*args)
        except NotFoundError:
            return None
        except AuthError as exc:
            raise ExactUnavailable(f"Exact Online refused our connection ({exc.message}); reconnect it.") from exc
        except RetryableError as exc:
            raise ExactUnavailable(
                f"Exact Online could not be reached ({exc.message}); nothing was saved, try again."
            ) from exc
        except SyncError as exc:
            raise ExactUnavailable(f"Exact Online answered with an error: {exc.message}; nothing was saved.") from exc

    def check_journal(self, code: str) -> str:
        journal = self._find(self.lookups.journal, code)
        if journal is None:
            return f"Journal {code} does not exist in division {self.division}; choose a sales journal."
        if journal.type != SALES_JOURNAL:
            kind = JOURNAL_TYPES.get(journal.type, f"journal of type {journal.type}")
            return (
                f"Journal {code} is a {kind} in division {self.division}; "
                f"choose a sales journal (for example {self._example_sales_journal()})."
            )
        return ""

    def _example_sales_journal(self) -> str:
        journals = self._find(self.lookups.all, "journals") or []
        codes = [j.code for j in journals if j.type == SALES_JOURNAL and not j.blocked]
        return min(codes, key=lambda code: (len(code), code)) if codes else "70"

    def check_ledger(self, code: str, label: str = "Ledger") -> str:
        account = self._find(self.lookups.gl_account, code)
        if account is None:
            return f"{label} {code} does not exist in division {self.division}; choose a revenue account."
        if account.type != REVENUE_ACCOUNT or account.balance_type != "W":
            where = "a balance sheet account" if account.balance_type == "B" else "not a revenue account"
            return (
                f"{label} {code} ({account.description}) is {where} in division {self.division}; "
                "choose a revenue account (profit and loss, type Revenue)."
            )
        return ""

    def check_cost_center(self, code: str) -> str:
        if self._find(self.lookups.cost_center, code) is None:
            return f"Cost center {code} does not exist in division {self.division}."
        return ""

    def check_cost_unit(self, code: str) -> str:
        if self._find(self.lookups.cost_unit, code) is None:
            return f"Cost unit {code} does not exist in division {self.division}."
        return ""

    def sales_vat_codes(self) -> list:
        return list(self._find(self.lookups.sales_vat_codes) or [])
