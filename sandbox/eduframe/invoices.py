"""The invoice lifecycle: concept -> open -> paid | expired, edits, payments, deletion. Every change fires webhooks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sandbox.eduframe.errors import InvalidState, ValidationFailed
from sandbox.eduframe.money import invoice_totals, money, to_decimal
from sandbox.eduframe.records import bump, get_record, locked
from sandbox.eduframe.seeding import discount_amount

UNSET = object()
STATUSES = ("concept", "open", "expired", "paid")


class InvoiceMixin:
    """Invoice actions; each bumps updated_at and emits invoice.* (and payment.*) events."""

    @locked
    def add_invoice(
        self,
        account_id: int,
        items: list[dict],
        feature: str | None = None,
        order_id: int | None = None,
        status: str = "concept",
        footnote: str | None = None,
        discount_code: str | None = None,
    ) -> dict:
        """Create a concept invoice (fires invoice.created), then move it on to `status` if asked."""
        if status not in STATUSES:
            raise ValidationFailed("Validation failed", {"status": ["is not included in the list"]})
        account = get_record(self.tables["accounts"], account_id, "Account")
        order = get_record(self.tables["orders"], order_id, "Order") if order_id else None
        code = discount_code or (order or {}).get("discount_code")
        lines = self._apply_discount([self._checked_item(item) for item in items], code)
        invoice = self._new_invoice(account, order, lines, feature, footnote)
        self.emit("invoice.created", "Invoice", invoice["id"])
        return self._advance_to(invoice, status)

    def _new_invoice(self, account, order, lines, feature, footnote) -> dict:
        now = self.clock.now()
        invoice_id = self.ids.next("invoices")
        base = f"https://{self.educator['slug']}.eduframe.nl/invoices/{invoice_id}"
        invoice = {"id": invoice_id, "reference_id": self._reference_id(invoice_id), "number": None}
        invoice.update(number_int=None, order_id=order["id"] if order else None)
        invoice.update(order_number=order["number"] if order else None, status="concept")
        invoice.update(expiration_date=None, opened_at=None, description=None)
        invoice.update(account_name=account["name"], account_id=account["id"], currency=self.educator["currency"])
        invoice.update(total_excl=None, total_incl=None, total_open=None)
        invoice.update(pdf_url=f"{base}.pdf", xml_url=f"{base}.xml", feature=feature, footnote=footnote)
        invoice.update(created_at=now, updated_at=now, invoice_items=[], _payments=[], _paid=Decimal("0"))
        invoice["invoice_items"] = [self._new_item(line, now) for line in lines]
        self._recompute(invoice)
        self.tables["invoices"][invoice_id] = invoice
        return invoice

    def _reference_id(self, invoice_id: int) -> str:
        """A 16-digit payment reference, deterministic per tenant and invoice (like a bank 'betalingskenmerk')."""
        body = f"73{self.educator['id']:04d}{invoice_id:09d}"
        return body + str(sum(int(d) for d in body) % 10)

    def _checked_item(self, item: dict) -> dict:
        missing = [key for key in ("name", "units", "unit_price") if item.get(key) in (None, "")]
        if missing:
            raise ValidationFailed("Validation failed", {f"invoice_items.{key}": ["can't be blank"] for key in missing})
        vat_id = item.get("invoice_vat_id")
        if vat_id is not None and int(vat_id) not in self.tables["invoice_vats"]:
            raise ValidationFailed("Validation failed", {"invoice_items.invoice_vat": ["must exist"]})
        variant_id = item.get("catalog_variant_id")
        if variant_id is not None and int(variant_id) not in self.tables["catalog_variants"]:
            raise ValidationFailed("Validation failed", {"invoice_items.catalog_variant": ["must exist"]})
        return {
            "id": item.get("id"),
            "name": str(item["name"]),
            "units": int(to_decimal(item["units"])),
            "unit_price": money(item["unit_price"]),
            "invoice_vat_id": int(vat_id) if vat_id is not None else None,
            "catalog_variant_id": int(variant_id) if variant_id is not None else None,
        }

    def _apply_discount(self, lines: list[dict], code: str | None) -> list[dict]:
        """Apply a discount code to the first course line: as a negative line, or folded into its price."""
        course_lines = [line for line in lines if line["catalog_variant_id"]]
        if not code or not course_lines:
            return lines
        target = course_lines[0]
        base = to_decimal(target["unit_price"]) * target["units"]
        discount = discount_amount(self.find_discount_code(code), base)
        if self.discount_mode == "folded":
            target["unit_price"] = money((base - discount) / target["units"])
            return lines
        discount_line = {"id": None, "name": f"Korting: {code}", "units": 1, "unit_price": money(-discount)}
        discount_line.update(invoice_vat_id=target["invoice_vat_id"], catalog_variant_id=None)
        return [*lines, discount_line]

    def _new_item(self, line: dict, now) -> dict:
        return {**line, "id": self.ids.next("invoice_items"), "created_at": now, "updated_at": now}

    def _recompute(self, invoice: dict) -> None:
        excl, incl = invoice_totals(invoice["invoice_items"], self.vat_percentages())
        invoice["total_excl"] = money(excl)
        invoice["total_incl"] = money(incl)
        invoice["total_open"] = money(incl - invoice["_paid"])
        first = invoice["invoice_items"][0]["name"] if invoice["invoice_items"] else ""
        label = f"Invoice {invoice['number']}" if invoice["number"] else "Concept invoice"
        invoice["description"] = f"{label} - {first}".rstrip(" -")

    def _advance_to(self, invoice: dict, status: str) -> dict:
        if status != "concept":
            self.open_invoice(invoice["id"])
        if status == "paid":
            self.pay_invoice(invoice["id"])
        if status == "expired":
            self.expire_invoice(invoice["id"])
        return invoice

    @locked
    def get_invoice(self, invoice_id: int) -> dict:
        return get_record(self.tables["invoices"], invoice_id, "Invoice")

    @locked
    def open_invoice(self, invoice_id: int) -> dict:
        """Concept -> open: next number, opened_at today, due after the payment term. No-op otherwise (as the API)."""
        invoice = self.get_invoice(invoice_id)
        if invoice["status"] != "concept":
            return invoice
        today = self.clock.today()
        sequence = self.invoice_numbers[today.year] = self.invoice_numbers.get(today.year, 0) + 1
        invoice["number"] = f"{today.year}-{sequence:04d}"
        invoice["number_int"] = today.year * 10000 + sequence
        invoice.update(status="open", opened_at=today)
        invoice["expiration_date"] = today + timedelta(days=self.payment_term_days)
        return self._changed(invoice)

    def _changed(self, invoice: dict, event: str = "invoice.updated") -> dict:
        self._recompute(invoice)
        bump(invoice, self.clock.now())
        self.emit(event, "Invoice", invoice["id"], {"status": invoice["status"]})
        return invoice

    @locked
    def edit_invoice(self, invoice_id: int, items: list[dict] | None = None, feature=UNSET, footnote=UNSET) -> dict:
        """(Re)save an invoice in any status. Items carrying a known `id` are updated in place, others replace."""
        invoice = self.get_invoice(invoice_id)
        if feature is not UNSET:
            invoice["feature"] = feature
        if footnote is not UNSET:
            invoice["footnote"] = footnote
        if items is not None:
            invoice["invoice_items"] = self._merged_items(invoice["invoice_items"], items)
        return self._changed(invoice)

    def _merged_items(self, current: list[dict], items: list[dict]) -> list[dict]:
        now = self.clock.now()
        by_id = {item["id"]: item for item in current}
        merged = []
        for line in (self._checked_item(item) for item in items):
            existing = by_id.get(line["id"])
            if existing is None:
                merged.append(self._new_item(line, now))
                continue
            changed = any(existing[key] != value for key, value in line.items())
            existing.update(line)
            if changed:
                bump(existing, now)
            merged.append(existing)
        return merged

    @locked
    def pay_invoice(self, invoice_id: int, amount=None) -> dict:
        """Register a (partial) payment; the invoice becomes paid when nothing is open any more."""
        invoice = self.get_invoice(invoice_id)
        if invoice["status"] not in ("open", "expired"):
            raise InvalidState(f"Cannot pay an invoice with status {invoice['status']}")
        paid = to_decimal(money(amount if amount is not None else invoice["total_open"]))
        payment = self._add_payment(invoice, paid)
        invoice["_paid"] += paid
        if to_decimal(money(to_decimal(invoice["total_incl"]) - invoice["_paid"])) == 0:
            invoice["status"] = "paid"
        self.emit("payment.created", "Payment", payment["id"])
        return self._changed(invoice)

    def _add_payment(self, invoice: dict, amount: Decimal) -> dict:
        now = self.clock.now()
        payment = {"id": self.ids.next("payments"), "invoice_id": invoice["id"], "amount": money(amount)}
        payment.update(currency=invoice["currency"], status="paid", payment_method="bank_transfer")
        payment.update(date=now.date(), created_at=now, updated_at=now)
        self.tables["payments"][payment["id"]] = payment
        invoice["_payments"].append(payment["id"])
        return payment

    @locked
    def expire_invoice(self, invoice_id: int) -> dict:
        invoice = self.get_invoice(invoice_id)
        if invoice["status"] != "open":
            raise InvalidState(f"Cannot expire an invoice with status {invoice['status']}")
        invoice["status"] = "expired"
        return self._changed(invoice)

    @locked
    def expire_overdue(self) -> list[int]:
        """Expire every open invoice whose expiration_date lies before today (run after time travel)."""
        today = self.clock.today()
        due = [
            invoice["id"]
            for invoice in self.tables["invoices"].values()
            if invoice["status"] == "open" and not invoice.get("_deleted") and invoice["expiration_date"] < today
        ]
        for invoice_id in due:
            self.expire_invoice(invoice_id)
        return due

    @locked
    def delete_invoice(self, invoice_id: int) -> dict:
        """Delete an invoice: it 404s afterwards and invoice.deleted still carries its id.

        Eduframe's UI only deletes concept invoices; the simulator allows any status by default
        (`allow_delete_non_concept`) because our product must cope with invoice.deleted for booked invoices.
        """
        invoice = self.get_invoice(invoice_id)
        if invoice["status"] != "concept" and not self.allow_delete_non_concept:
            raise InvalidState("Only concept invoices can be deleted")
        invoice["_deleted"] = True
        bump(invoice, self.clock.now())
        self.emit("invoice.deleted", "Invoice", invoice["id"])
        return invoice

    @locked
    def invoice_payments(self, invoice_id: int) -> list[dict]:
        invoice = self.get_invoice(invoice_id)
        return [self.tables["payments"][payment_id] for payment_id in invoice["_payments"]]
