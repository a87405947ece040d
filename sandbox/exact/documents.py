"""`documents/Documents` and `documents/DocumentAttachments`: the PDF behind a sales entry [C S2, S10]."""

from __future__ import annotations

from urllib.parse import quote

from .errors import ApiError, BusinessError, Messages
from .odata import new_guid
from .resources import Ctx, Resource
from .schema import DOCUMENT, DOCUMENT_ATTACHMENT

# Subset of documents/DocumentTypes; 10 -> "Sales invoice" as recorded in S10.
DOCUMENT_TYPES = {10: "Sales invoice", 20: "Purchase invoice", 55: "Contract", 183: "General attachment"}


class Documents(Resource):
    path = "documents/Documents"
    spec = DOCUMENT
    methods = ("GET", "POST", "PUT", "DELETE")

    def store(self, ctx: Ctx) -> dict:
        return ctx.division.documents

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        division = ctx.division
        row = {name: None for name in DOCUMENT.fields}
        row.update(values)
        row.update({"ID": new_guid(), "Division": division.code, "HasEmptyBody": not values.get("Body")})
        self._validate(ctx, row)
        row["HID"] = division.next_document_hid  # sequential [C S10]
        division.next_document_hid += 1
        row["DocumentViewUrl"] = f"{ctx.base_url}/docs/DocView.aspx?DocumentID={quote(row['ID'])}"
        row["Created"] = row["Modified"] = ctx.local_now
        division.documents[row["ID"]] = row
        return row

    def update(self, ctx: Ctx, row: dict, values: dict, navs: dict) -> None:
        candidate = {**row, **values}
        self._validate(ctx, candidate)
        candidate["Modified"] = ctx.local_now
        row.update(candidate)

    def delete(self, ctx: Ctx, row: dict) -> None:
        if any(entry["Document"] == row["ID"] for entry in ctx.division.entries.values()):
            raise BusinessError("Can't delete: Document - Used in: Verkoopboekingen")  # shape as [R S11]
        for attachment in [a for a in ctx.division.attachments.values() if a["Document"] == row["ID"]]:
            del ctx.division.attachments[attachment["ID"]]
        del ctx.division.documents[row["ID"]]

    def _validate(self, ctx: Ctx, row: dict) -> None:
        messages = Messages()
        if not (row.get("Subject") or "").strip():
            messages.add("Verplicht: Onderwerp")
        if row.get("Type") is None:
            messages.add("Verplicht: Type")
        elif row["Type"] not in DOCUMENT_TYPES:
            messages.add("Ongeldige referentie: Type")
        account = ctx.division.accounts.get(row["Account"]) if row.get("Account") else None
        if row.get("Account") and account is None:
            messages.add("Ongeldige referentie: Relatie")
        messages.raise_if_any()
        row["TypeDescription"] = DOCUMENT_TYPES[row["Type"]]
        row["AccountCode"] = account["Code"] if account else None
        row["AccountName"] = account["Name"] if account else None


class DocumentAttachments(Resource):
    """GET/POST/DELETE only: PUT is not in the metadata [C S5]."""

    path = "documents/DocumentAttachments"
    spec = DOCUMENT_ATTACHMENT
    methods = ("GET", "POST", "DELETE")

    def store(self, ctx: Ctx) -> dict:
        return ctx.division.attachments

    def create(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        division = ctx.division
        messages = Messages()
        for name, label in (("Attachment", "Bijlage"), ("Document", "Document"), ("FileName", "Bestandsnaam")):
            if not values.get(name):
                messages.add(f"Verplicht: {label}")
        if values.get("Document") and values["Document"] not in division.documents:
            messages.add("Ongeldige referentie: Document")
        messages.raise_if_any()
        if len(values["Attachment"]) > ctx.state.max_post_bytes:
            raise ApiError(413, "The attachment exceeds the maximum size of 10 MB.")  # [C S1]
        row = {"ID": new_guid(), "Division": division.code, **values, "FileSize": float(len(values["Attachment"]))}
        row["Url"] = f"{ctx.base_url}/docs/SysAttachment.aspx?ID={row['ID']}&_Division_={division.code}"
        division.attachments[row["ID"]] = row
        return row

    def delete(self, ctx: Ctx, row: dict) -> None:
        del ctx.division.attachments[row["ID"]]
