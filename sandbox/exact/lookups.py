"""Read-only lookups seeded per division: GL accounts, journals, cost centres/units, VAT codes [C S5].
Creating them through the API is not simulated (405); seed them with `seed_division` instead."""

from __future__ import annotations

from .resources import Ctx, Resource
from .schema import COST_CENTER, COST_UNIT, GL_ACCOUNT, JOURNAL, VAT_CODE


def _lookup(path: str, spec, attribute: str) -> type[Resource]:
    def store(self, ctx: Ctx) -> dict:
        return getattr(ctx.division, attribute)

    return type(path.split("/")[1], (Resource,), {"path": path, "spec": spec, "store": store})


GLAccounts = _lookup("financial/GLAccounts", GL_ACCOUNT, "gl_accounts")
Journals = _lookup("financial/Journals", JOURNAL, "journals")
Costcenters = _lookup("hrm/Costcenters", COST_CENTER, "cost_centers")
Costunits = _lookup("hrm/Costunits", COST_UNIT, "cost_units")
VATCodes = _lookup("vat/VATCodes", VAT_CODE, "vat_codes")
