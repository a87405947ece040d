"""`current/Me` (no division in the URL, not counted [C S1]) and the division lists: `system/Divisions`,
`system/AllDivisions` and `hrm/Divisions` [C S5, S10]."""

from __future__ import annotations

from .identity import User
from .odata import AMSTERDAM, entity_uri, serialise
from .resources import Ctx, Resource, json_response
from .schema import ALL_DIVISION, DIVISION, ME


def me_response(state, user: User, base_url: str, select: list[str] | None):
    """A one-element collection, as recorded in S10."""
    division = state.divisions.get(user.current_division)
    now_local = state.clock.now().astimezone(AMSTERDAM)
    first, _, last = user.full_name.partition(" ")
    row = {
        "UserID": user.user_id,
        "CurrentDivision": user.current_division,
        "AccountingDivision": user.current_division,
        "DossierDivision": None,
        "DivisionCustomer": division.customer_id if division else None,
        "DivisionCustomerCode": str(division.hid).rjust(18) if division else None,
        "DivisionCustomerName": division.name if division else None,
        "DivisionCustomerVatNumber": None,
        "Email": user.email,
        "FullName": user.full_name,
        "FirstName": first,
        "LastName": last,
        "UserName": user.user_name,
        "LanguageCode": user.language,
        "Language": user.language[:2].upper(),
        "Legislation": 128,
        "PackageCode": "EOL",
        "ServerTime": now_local.strftime("%Y-%m-%dT%H:%M:%S"),
        "ServerUtcOffset": int(now_local.utcoffset().total_seconds()),
        "PictureUrl": None,
        "IsClientUser": False,
        "IsAccountant": True,
        "IsEmployeeSelfServiceUser": False,
    }
    uri = entity_uri(base_url, None, "current/Me", ME, user.user_id)
    return json_response({"d": {"results": [serialise(row, ME, uri, select)]}})


class Divisions(Resource):
    """Divisions the signed-in user can reach [C S8]; keyed by Code (int)."""

    path = "system/Divisions"
    spec = DIVISION

    def store(self, ctx: Ctx) -> dict:
        user = ctx.state.users[ctx.user_id]
        divisions = ctx.state.divisions
        reachable = [code for code in user.divisions if code in divisions and divisions[code].country == ctx.country]
        return {code: _division_row(ctx, code, user) for code in reachable}


class HrmDivisions(Divisions):
    """The HRM view of the same divisions (ossobv's get_divisions uses `hrm/Divisions?$select=Code,Description`
    [K S7])."""

    path = "hrm/Divisions"


class AllDivisions(Divisions):
    """All divisions of the licence that owns the division in the URL, including those the user cannot reach
    [C S8 "Good to know"]."""

    path = "system/AllDivisions"
    spec = ALL_DIVISION

    def store(self, ctx: Ctx) -> dict:
        user = ctx.state.users[ctx.user_id]
        licence = ctx.division.licence
        codes = [
            code
            for code, division in ctx.state.divisions.items()
            if division.licence == licence and division.country == ctx.country
        ]
        return {code: _division_row(ctx, code, user) for code in sorted(codes)}


def _division_row(ctx: Ctx, code: int, user: User) -> dict:
    division = ctx.state.divisions[code]
    return {
        "Code": code,
        "Description": division.name,
        "Hid": division.hid,
        "Current": code == user.current_division,
        "Customer": division.customer_id,
        "CustomerName": division.name,
        "CustomerCode": str(division.hid).rjust(18),
        "Country": division.country,
        "Currency": "EUR",
        "Status": 1,
        "BlockingStatus": 0,
        "StartDate": None,
        "ArchiveDate": None,
    }
