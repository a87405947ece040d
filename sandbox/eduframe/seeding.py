"""Seeding of reference data: VAT rates, custom-field definitions, accounts, courses, catalog, discounts, orders."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sandbox.eduframe.errors import ValidationFailed
from sandbox.eduframe.money import money, percentage_str, to_decimal
from sandbox.eduframe.records import bump, get_record, locked

ADDRESS_KEYS = ("addressee", "address", "address_line2", "postal_code", "city", "country", "state_province")
ACCOUNT_FIELDS = ("name", "email", "phone", "account_type", "label_ids")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def normalize_address(address: dict | None) -> dict | None:
    """Return the address with every schema key present (blank ones null), or None."""
    if address is None:
        return None
    return {key: address.get(key) for key in ADDRESS_KEYS}


def discount_amount(code: dict, base: Decimal) -> Decimal:
    """Discount for `base` (excl. VAT, applied before tax); a fixed discount never exceeds the cost."""
    amount = to_decimal(code["amount"])
    if code["discount_type"] == "percentage":
        return Decimal(money(base * amount / 100))
    return min(amount, base)


class SeedingMixin:
    """add_* methods for everything an invoice refers to; each returns the stored record."""

    def _stamped(self, table: str, **fields) -> dict:
        now = self.clock.now()
        record = {"id": self.ids.next(table), **fields, "created_at": now, "updated_at": now}
        self.tables[table][record["id"]] = record
        return record

    @locked
    def add_vat(self, name: str, percentage: str, has_vat: bool = True) -> dict:
        record = {"id": self.ids.next("invoice_vats"), "name": name}
        record.update(percentage=percentage_str(percentage), has_vat=has_vat)
        self.tables["invoice_vats"][record["id"]] = record
        return record

    @locked
    def add_signup_question(
        self,
        title: str,
        slug: str | None = None,
        field_type: str = "string",
        for_type: str = "account",
        system_name: str | None = None,
        required: bool = False,
        choices: list | None = None,
        visibility: list | None = None,
    ) -> dict:
        table = self.tables["signup_questions"]
        record = {"id": self.ids.next("signup_questions"), "position": len(table) + 1, "field_type": field_type}
        record.update(title=title, slug=slug or slugify(title), required=required, for_type=for_type)
        record.update(visibility=visibility or ["backoffice"], for_student=for_type == "user")
        record.update(for_customer=for_type == "account", choices=choices or [], system_name=system_name)
        record["use_as_duplicate_indicator"] = False
        table[record["id"]] = record
        return record

    @locked
    def add_account(
        self,
        name: str,
        account_type: str = "business",
        email: str | None = None,
        phone: str | None = None,
        address: dict | None = None,
        custom: dict | None = None,
        label_ids: list | None = None,
    ) -> dict:
        if account_type not in ("business", "personal"):
            raise ValidationFailed("Validation failed", {"account_type": ["is not included in the list"]})
        # Personal accounts belong to one user; the user ids are made up (there is no /users here).
        personal_user = 20001 + len(self.tables["accounts"]) if account_type == "personal" else None
        return self._stamped(
            "accounts",
            name=name,
            email=email,
            phone=phone,
            account_type=account_type,
            label_ids=label_ids or [],
            personal_user_id=personal_user,
            slug=slugify(name),
            users_count=1,
            visible=True,
            custom=dict(custom or {}),
            address=normalize_address(address),
        )

    @locked
    def add_course(self, name: str, code: str, cost: str = "595.00", custom: dict | None = None, **extra) -> dict:
        """Add a course template and its catalog product (productable_type "Course")."""
        slug = slugify(name)
        course = self._stamped(
            "courses",
            name=name,
            code=code,
            category_id=extra.get("category_id"),
            position=len(self.tables["courses"]) + 1,
            starting_price=money(cost),
            signup_url=f"https://{self.educator['slug']}.eduframe.nl/signup/{slug}",
            slug=slug,
            slug_history=[],
            avatar=None,
            avatar_url=None,
            avatar_thumb_url=None,
            conditions_or_default=None,
            website_url=None,
            certificate_template_id=None,
            duration=extra.get("duration"),
            level=extra.get("level"),
            meta_title=None,
            meta_description=None,
            result=extra.get("result"),
            label_ids=[],
            cost=money(cost),
            cost_scheme="student",
            is_published=True,
            custom=dict(custom or {}),
        )
        self.add_catalog_product(name, "Course", course["id"], cost=cost)
        return course

    @locked
    def add_planned_course(
        self,
        course_id: int,
        start_date: date,
        end_date: date | None = None,
        cost: str | None = None,
        location: str = "Utrecht",
        status: str = "planned",
        max_participants: int = 12,
    ) -> dict:
        """Add a course edition and its catalog variant (variantable_type "PlannedCourse")."""
        course = get_record(self.tables["courses"], course_id, "Course")
        end_date = end_date or start_date
        cost = money(cost or course["cost"])
        edition = self._stamped(
            "planned_courses",
            course_id=course["id"],
            type="FixedPlannedCourse",
            status=status,
            start_date=start_date,
            end_date=end_date,
            duration_in_days=(end_date - start_date).days + 1,
            availability_state="open",
            payable=True,
            current_participants=0,
            confirmed_active_and_completed_enrollments_count=0,
            requested_enrollments_count=0,
            available_places=True,
            canvas_link=None,
            currency=self.educator["currency"],
            cost=cost,
            cost_multiplier="1.21",
            cost_scheme="student",
            is_published=True,
            min_participants=4,
            max_participants=max_participants,
            course_variant_id=1,
            course_location_id=self._location_id(location),
            _location=location,
        )
        self._add_edition_variant(course, edition)
        return edition

    def _location_id(self, location: str) -> int:
        return self.locations.setdefault(location, len(self.locations) + 1)

    def _add_edition_variant(self, course: dict, edition: dict) -> dict:
        product = self._product_for("Course", course["id"])
        start = edition["start_date"]
        location = edition["_location"]
        name = f"{course['name']} - {location} - {start.day} {start.strftime('%b %Y')}"
        sku = f"{course['code']}-{start:%Y-%m}-{location[:2].upper()}-{edition['id']}"
        properties = {
            "course_location_id": edition["course_location_id"],
            "course_variant_id": edition["course_variant_id"],
            "start_date": start,
            "end_date": edition["end_date"],
            "type": edition["type"],
        }
        return self.add_catalog_variant(
            product["id"], name, "PlannedCourse", edition["id"], cost=edition["cost"], sku=sku, properties=properties
        )

    def _product_for(self, productable_type: str, productable_id: int) -> dict:
        for product in self.tables["catalog_products"].values():
            if (product["productable_type"], product["productable_id"]) == (productable_type, productable_id):
                return product
        raise ValidationFailed("Validation failed", {"product_id": ["must exist"]})

    @locked
    def add_catalog_product(
        self, name: str, productable_type: str = "Course", productable_id: int | None = None, cost: str = "0"
    ) -> dict:
        return self._stamped(
            "catalog_products",
            name=name,
            slug=slugify(name),
            label_ids=[],
            cost_scheme="student",
            cost=money(cost),
            currency=self.educator["currency"],
            productable_type=productable_type,
            productable_id=productable_id,
            avatar=None,
            position=len(self.tables["catalog_products"]) + 1,
            conditions_or_default=None,
            category_id=None,
            is_published=True,
            show_on_website=True,
            signup_url=None,
            custom={},
        )

    @locked
    def add_catalog_variant(
        self,
        product_id: int,
        name: str,
        variantable_type: str = "PlannedCourse",
        variantable_id: int | None = None,
        cost: str = "0",
        sku: str | None = None,
        properties: dict | None = None,
    ) -> dict:
        get_record(self.tables["catalog_products"], product_id, "Product")
        return self._stamped(
            "catalog_variants",
            product_id=product_id,
            name=name,
            sku=sku,
            cost_scheme="student",
            cost=money(cost),
            currency=self.educator["currency"],
            variantable_type=variantable_type,
            variantable_id=variantable_id,
            availability="available",
            available_places=12,
            is_published=True,
            show_on_website=True,
            properties=properties or {},
            custom={},
        )

    @locked
    def add_discount_code(
        self,
        code: str,
        discount_type: str = "percentage",
        amount: float | int = 10,
        name: str | None = None,
        max_usage: int | None = None,
        start_date: date | None = None,
        expiration_date: date | None = None,
    ) -> dict:
        if discount_type not in ("fixed", "percentage"):
            raise ValidationFailed("Validation failed", {"discount_type": ["is not included in the list"]})
        record = {"id": self.ids.next("discount_codes"), "name": name or code, "discount_code": code}
        record.update(discount_type=discount_type, amount=amount, max_usage=max_usage, usage_count=0)
        record.update(start_date=start_date, expiration_date=expiration_date)
        self.tables["discount_codes"][record["id"]] = record
        return record

    def find_discount_code(self, code: str) -> dict:
        """Discount codes are case-sensitive in Eduframe."""
        for record in self.tables["discount_codes"].values():
            if record["discount_code"] == code:
                return record
        raise ValidationFailed("Validation failed", {"discount_code": ["is invalid"]})

    @locked
    def add_order(
        self,
        account_id: int,
        catalog_variant_id: int,
        units: int = 1,
        discount_code: str | None = None,
        invoice_vat_id: int | None = None,
    ) -> dict:
        get_record(self.tables["accounts"], account_id, "Account")
        variant = get_record(self.tables["catalog_variants"], catalog_variant_id, "Variant")
        cost = to_decimal(variant["cost"]) * units
        code = self.find_discount_code(discount_code) if discount_code else None
        discount = discount_amount(code, cost) if code else Decimal("0")
        if code:
            code["usage_count"] += 1
        excl = cost - discount
        pct = self.vat_percentages().get(invoice_vat_id, "0")
        incl = excl + excl * to_decimal(pct) / 100
        return self._stamped(
            "orders",
            number=len(self.tables["orders"]) + 1001,
            account_id=account_id,
            catalog_variant_id=catalog_variant_id,
            status="approved",
            units=units,
            currency=self.educator["currency"],
            cost=money(cost),
            discount_code=discount_code,
            total_discount=money(discount),
            total_cost_excl=money(excl),
            total_cost_incl=money(incl),
            _invoice_vat_id=invoice_vat_id,
        )

    def vat_percentages(self) -> dict[int, str]:
        return {vat_id: vat["percentage"] for vat_id, vat in self.tables["invoice_vats"].items()}

    @locked
    def update_account(self, account_id: int, **changes) -> dict:
        """Change account fields; `address` and `custom` are merged. Fires account.updated."""
        account = get_record(self.tables["accounts"], account_id, "Account")
        unknown = set(changes) - set(ACCOUNT_FIELDS) - {"address", "custom"}
        if unknown:
            raise ValidationFailed("Validation failed", {key: ["is not a known attribute"] for key in unknown})
        for key in ACCOUNT_FIELDS:
            if key in changes:
                account[key] = changes[key]
        if "address" in changes:
            merged = {**(account["address"] or {}), **(changes["address"] or {})}
            account["address"] = normalize_address(merged) if changes["address"] is not None else None
        account["custom"].update(changes.get("custom") or {})
        bump(account, self.clock.now())
        self.emit("account.updated", "Account", account["id"])
        return account

    def rename_account(self, account_id: int, name: str) -> dict:
        """Rename an account; existing invoices keep their account_name snapshot."""
        return self.update_account(account_id, name=name)

    def set_account_custom(self, account_id: int, slug: str, value) -> dict:
        return self.update_account(account_id, custom={slug: value})
