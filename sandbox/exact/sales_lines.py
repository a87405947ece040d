"""`salesentry/SalesEntryLines`: how lines change after the entry exists (ossobv `elements/invoice.py`,
openstudio [K S7, S12]). Deleting the last line deletes the whole entry [K S7]."""

from __future__ import annotations

from .division import Division
from .entry_rules import ensure_mutable, recompute_totals
from .errors import BusinessError, Messages
from .line_rules import check_line, new_line
from .resources import Ctx, Resource
from .schema import SALES_ENTRY_LINE


def update_line_values(division: Division, journal: dict | None, line: dict, values: dict, messages: Messages):
    """A validated copy of `line` with `values` applied (not stored yet)."""
    candidate = {**line, **values}
    if values.get("EntryID", line["EntryID"]) != line["EntryID"]:
        messages.add("Niet toegestaan: Boeking")  # moving a line to another entry [U]
    candidate["EntryID"] = line["EntryID"]
    if "VATAmountFC" not in values and ({"AmountFC", "VATCode", "GLAccount"} & values.keys()):
        candidate["VATAmountFC"] = None  # the stored VAT was computed, not given: compute again
    check_line(division, journal, candidate, messages)
    return candidate


class SalesEntryLines(Resource):
    path = "salesentry/SalesEntryLines"
    spec = SALES_ENTRY_LINE
    methods = ("GET", "POST", "PUT", "DELETE")

    def store(self, ctx: Ctx) -> dict:
        return ctx.division.lines

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        division = ctx.division
        entry = self._parent(division, values.get("EntryID"))
        ensure_mutable(division, entry)
        numbers = [line["LineNumber"] for line in division.lines_of(entry["EntryID"])]
        line = new_line(division, entry["EntryID"], values, max(numbers, default=0) + 1)
        messages = Messages()
        check_line(division, division.journal_by_code(entry["Journal"]), line, messages)
        messages.raise_if_any()
        division.lines[line["ID"]] = line
        self._touch(ctx, entry)
        return line

    def update(self, ctx: Ctx, row: dict, values: dict, navs: dict) -> None:
        division = ctx.division
        entry = division.entries[row["EntryID"]]
        ensure_mutable(division, entry)
        messages = Messages()
        candidate = update_line_values(division, division.journal_by_code(entry["Journal"]), row, values, messages)
        messages.raise_if_any()
        row.update(candidate)
        self._touch(ctx, entry)

    def delete(self, ctx: Ctx, row: dict) -> None:
        division = ctx.division
        entry = division.entries[row["EntryID"]]
        ensure_mutable(division, entry)
        del division.lines[row["ID"]]
        if not division.lines_of(entry["EntryID"]):
            del division.entries[entry["EntryID"]]  # the last line takes the entry with it [K S7]
            return
        self._touch(ctx, entry)

    def _parent(self, division: Division, entry_id: str | None) -> dict:
        if not entry_id:
            raise BusinessError("Verplicht: Boeking")
        entry = division.entries.get(entry_id)
        if entry is None:
            raise BusinessError("Ongeldige referentie: Boeking")
        return entry

    def _touch(self, ctx: Ctx, entry: dict) -> None:
        entry["Modified"] = ctx.local_now
        recompute_totals(ctx.division, entry, entry.get("_PostedType"))
