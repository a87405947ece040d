"""`salesentry/SalesEntries`: sales invoices and credit notes with inline lines on POST."""

from __future__ import annotations

from .entry_rules import (
    assign_entry_number,
    check_header,
    closed_period_message,
    derive_due_date,
    derive_period,
    ensure_mutable,
    payment_reference,
    recompute_totals,
)
from .errors import Messages, stream_error
from .line_rules import check_line, new_line
from .odata import new_guid, parse_body
from .resources import Ctx, Resource, read_json
from .sales_lines import SalesEntryLines, update_line_values
from .schema import SALES_ENTRY, SALES_ENTRY_LINE

# picqer #538 [R S15] quotes this message truncated after "Binding to new entities"; completed here.
NEW_NESTED_LINES = "Binding to new entities is not supported in an update request."


class SalesEntries(Resource):
    path = "salesentry/SalesEntries"
    spec = SALES_ENTRY
    methods = ("GET", "POST", "PUT", "DELETE")

    def store(self, ctx: Ctx) -> dict:
        return ctx.division.entries

    def children(self, ctx: Ctx, row: dict, nav: str):
        if nav != "SalesEntryLines":
            return super().children(ctx, row, nav)
        return SalesEntryLines(), ctx.division.lines_of(row["EntryID"])

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        division = ctx.division
        entry = {name: None for name in SALES_ENTRY.fields}
        entry.update({"Currency": "EUR", "Rate": 1.0, "Status": 20, "StatusDescription": "Open"})
        entry.update(values)
        entry.update({"EntryID": new_guid(), "Division": division.code})
        derive_period(entry, values, ctx.local_now)
        messages = Messages()
        journal = check_header(division, entry, messages)
        derive_due_date(division, entry, messages)
        lines = [new_line(division, entry["EntryID"], v, n) for n, v in enumerate(_inline_lines(ctx, navs), 1)]
        if not lines:
            messages.add("Verplicht: Boekingsregels")  # at least one line [C S8 "Good to know"]
        for line in lines:
            check_line(division, journal, line, messages)
        messages.add_optional(closed_period_message(division, entry))
        assign_entry_number(division, entry, messages, ctx.state.duplicate_entry_number)
        messages.raise_if_any()
        payment_reference(division, entry, values, customer_changed=False)
        entry["Created"] = entry["Modified"] = ctx.local_now
        entry["_PostedType"] = _posted_type(ctx)
        division.entries[entry["EntryID"]] = entry
        for line in lines:
            division.lines[line["ID"]] = line
        recompute_totals(division, entry, entry["_PostedType"])
        return entry

    def update(self, ctx: Ctx, row: dict, values: dict, navs: dict) -> None:
        division = ctx.division
        ensure_mutable(division, row)
        nested = _existing_nested_lines(ctx, row, navs)
        candidate = {**row, **values}
        if "EntryDate" in values:
            # A new date moves the period, unless the same body names the period itself (ossobv and
            # openstudio send EntryDate, ReportingYear and ReportingPeriod together [K S7, S12]).
            derive_period(candidate, values, ctx.local_now)
        messages = Messages()
        if "DueDate" in values:
            candidate["_DueDateDerived"] = False
        if {"PaymentCondition", "Customer", "EntryDate"} & set(values):
            derive_due_date(division, candidate, messages)
        journal = check_header(division, candidate, messages)
        messages.add_optional(closed_period_message(division, candidate))
        assign_entry_number(division, candidate, messages, ctx.state.duplicate_entry_number)
        updated_lines = [update_line_values(division, journal, line, v, messages) for line, v in nested]
        messages.raise_if_any()
        changed = "Customer" in values and values["Customer"] != row["Customer"]
        payment_reference(division, candidate, values, customer_changed=changed)
        candidate["Modified"] = ctx.local_now
        row.update(candidate)
        for line in updated_lines:
            division.lines[line["ID"]] = line
        recompute_totals(division, row, row.get("_PostedType"))

    def delete(self, ctx: Ctx, row: dict) -> None:
        ensure_mutable(ctx.division, row)
        for line in ctx.division.lines_of(row["EntryID"]):
            del ctx.division.lines[line["ID"]]
        del ctx.division.entries[row["EntryID"]]


def _inline_lines(ctx: Ctx, navs: dict) -> list[dict]:
    raw = navs.get("SalesEntryLines")
    if isinstance(raw, dict) and "results" in raw:
        raw = raw["results"]
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise stream_error("The property 'SalesEntryLines' must be a collection.")
    mode = ctx.state.date_offset_mode
    # EntryID is implied for inline lines [C S8].
    return [parse_body(SALES_ENTRY_LINE, item, offset_mode=mode, updating=False)[0] for item in raw]


def _existing_nested_lines(ctx: Ctx, row: dict, navs: dict) -> list[tuple[dict, dict]]:
    """Lines nested in a PUT may only change existing lines; a new one is refused (picqer #538 [R])."""
    raw = navs.get("SalesEntryLines")
    if isinstance(raw, dict) and "results" in raw:
        raw = raw["results"]
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise stream_error("The property 'SalesEntryLines' must be a collection.")
    pairs = []
    for item in raw:
        line_id = str(item.get("ID") or "").lower() if isinstance(item, dict) else ""
        line = ctx.division.lines.get(line_id)
        if line is None or line["EntryID"] != row["EntryID"]:
            raise stream_error(NEW_NESTED_LINES)
        values, _ = parse_body(SALES_ENTRY_LINE, item, offset_mode=ctx.state.date_offset_mode, updating=True)
        pairs.append((line, values))
    return pairs


def _posted_type(ctx: Ctx) -> int | None:
    """`Type` is read-only [C S5]; behind a switch a posted 21 is honoured (openstudio posts it [K S12])."""
    if not ctx.state.honour_posted_type:
        return None
    body = read_json(ctx)
    return body.get("Type") if isinstance(body, dict) else None
