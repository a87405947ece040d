"""The deterministic demo world: one training provider in both simulators.

`load_eduframe_demo(state)` fills an EduframeState (seeded `random.Random(42)`; dates relative to the state's
clock, so a frozen clock gives identical snapshots). `EXACT_DEMO_DIVISION` holds the keyword arguments for
`ExactState.seed_division(**EXACT_DEMO_DIVISION)`, with codes that fit the courses: a course's code is also its
Exact cost unit, its category's cost center is in `DEMO_COURSES`.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sandbox.eduframe.clock import DEFAULT_TZ

# (name, code, price, category cost center, VAT kind) - the VAT kind picks the course line's rate.
DEMO_COURSES = (
    ("Projectmanagement Basis", "PMB", "595.00", "CC100", "high"),
    ("Agile Scrum Master", "ASM", "1195.00", "CC100", "high"),
    ("Leidinggeven in de praktijk", "LIP", "1450.00", "CC100", "high"),
    ("Coachend leidinggeven", "CLG", "1295.00", "CC100", "high"),
    ("PRINCE2 Foundation", "PRF", "1095.00", "CC100", "high"),
    ("Excel voor gevorderden", "EXG", "395.00", "CC200", "high"),
    ("Python for Data Analysis", "PDA", "1495.00", "CC200", "high"),
    ("Power BI Essentials", "PBI", "795.00", "CC200", "high"),
    ("ITIL 4 Foundation", "ITF", "995.00", "CC200", "high"),
    ("Data Protection & AVG", "AVG", "650.00", "CC200", "high"),
    ("Communicatie en Feedback", "CEF", "545.00", "CC300", "high"),
    ("Presenteren met impact", "PMI", "695.00", "CC300", "high"),
    ("Schrijven voor het web", "SVW", "450.00", "CC300", "high"),
    ("Verkooptechnieken", "VKT", "750.00", "CC300", "high"),
    ("Onderhandelen", "OND", "895.00", "CC300", "high"),
    ("Lean Six Sigma Green Belt", "LSG", "2450.00", "CC400", "high"),
    ("Bedrijfshulpverlening (BHV)", "BHV", "295.00", "CC400", "exempt"),
    ("VCA Basisveiligheid", "VCA", "245.00", "CC400", "exempt"),
    ("Nederlands als tweede taal (NT2)", "NT2", "1250.00", "CC500", "exempt"),
    ("English for Business", "EFB", "875.00", "CC500", "exempt"),
)
LOCATIONS = ("Utrecht", "Amsterdam", "Rotterdam", "Eindhoven", "Online")
DISCOUNT_CODES = (
    ("EARLYBIRD", "percentage", 10),
    ("WELKOM25", "fixed", 25),
    ("ZOMER15", "percentage", 15),
    ("ALUMNI50", "fixed", 50),
)
COMPANY_WORDS = ("Noord", "Delta", "Polder", "Zuidas", "Rijn", "Maas", "Kempen", "Lindeboom", "Vaart", "Horizon")
COMPANY_KINDS = ("Consultancy", "Techniek", "Zorggroep", "Logistiek", "Bouw", "Advies", "Software", "Onderwijs")
FIRST_NAMES = ("Anna", "Daan", "Sophie", "Lucas", "Emma", "Sem", "Julia", "Finn", "Lotte", "Jan", "Noor", "Thomas")
LAST_NAMES = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Peeters", "Maes", "Schmidt")
CITIES = {
    "NL": (("Utrecht", "3511 ED"), ("Amsterdam", "1012 AB"), ("Rotterdam", "3011 AD"), ("Zwolle", "8011 CW")),
    "BE": (("Antwerpen", "2000"), ("Gent", "9000"), ("Brussel", "1000")),
    "DE": (("Düsseldorf", "40213"), ("Köln", "50667"), ("Aachen", "52062")),
}
STREETS = ("Stationsplein", "Kerkstraat", "Dorpsstraat", "Marktplein", "Industrieweg", "Hoofdstraat")
INVOICE_COUNT, ACCOUNT_COUNT, EDITIONS_PER_COURSE = 1000, 200, 3
HISTORY_DAYS = 182

EXACT_DEMO_DIVISION = {
    "code": 1234567,
    "name": "Demo Academy B.V.",
    "journals": [
        {"Code": "70", "Description": "Verkoopboek", "Type": 20},
        {"Code": "71", "Description": "Verkoopboek incompany", "Type": 20},
        {"Code": "10", "Description": "Bank", "Type": 12},
        {"Code": "90", "Description": "Memoriaal", "Type": 90},
    ],
    "gl_accounts": [
        {
            "Code": "8000",
            "Description": "Omzet cursussen",
            "Type": 110,
            "BalanceType": "W",
            "UseCostcenter": 0,
            "UseCostunit": 0,
        },
        {
            "Code": "8010",
            "Description": "Omzet IT-trainingen",
            "Type": 110,
            "BalanceType": "W",
            "UseCostcenter": 0,
            "UseCostunit": 0,
        },
        {
            "Code": "8020",
            "Description": "Omzet taaltrainingen",
            "Type": 110,
            "BalanceType": "W",
            "UseCostcenter": 0,
            "UseCostunit": 0,
        },
        # Incompany revenue must carry a cost center (UseCostcenter 1 = mandatory in Exact).
        {
            "Code": "8100",
            "Description": "Omzet incompany",
            "Type": 110,
            "BalanceType": "W",
            "UseCostcenter": 1,
            "UseCostunit": 0,
        },
        {
            "Code": "8050",
            "Description": "Omzet lesmateriaal",
            "Type": 110,
            "BalanceType": "W",
            "UseCostcenter": 0,
            "UseCostunit": 2,
        },
        {
            "Code": "8090",
            "Description": "Verleende kortingen",
            "Type": 110,
            "BalanceType": "W",
            "UseCostcenter": 2,
            "UseCostunit": 2,
        },
        {
            "Code": "1300",
            "Description": "Debiteuren",
            "Type": 20,
            "BalanceType": "B",
            "UseCostcenter": 0,
            "UseCostunit": 0,
        },
    ],
    "cost_centers": [
        {"Code": "CC100", "Description": "Management & Leiderschap"},
        {"Code": "CC200", "Description": "IT & Data"},
        {"Code": "CC300", "Description": "Communicatie & Sales"},
        {"Code": "CC400", "Description": "Veiligheid & Kwaliteit"},
        {"Code": "CC500", "Description": "Talen"},
    ],
    "cost_units": [{"Code": code, "Description": name} for name, code, *_ in DEMO_COURSES],
    "vat_codes": [
        {"Code": "2", "Description": "BTW hoog 21%", "Percentage": 0.21, "Type": "E", "VATTransactionType": "S"},
        {"Code": "1", "Description": "BTW laag 9%", "Percentage": 0.09, "Type": "E", "VATTransactionType": "S"},
        {"Code": "0", "Description": "BTW vrijgesteld 0%", "Percentage": 0.0, "Type": "E", "VATTransactionType": "S"},
        {
            "Code": "5",
            "Description": "Voorbelasting hoog 21%",
            "Percentage": 0.21,
            "Type": "E",
            "VATTransactionType": "P",
        },
    ],
}


def load_eduframe_demo(state) -> dict:
    """Fill `state` with the demo provider, without firing webhooks; return the state's counts."""
    rng = random.Random(42)
    today = state.clock.today()
    with state.webhooks_suppressed():
        vats = seed_settings(state)
        editions = seed_courses(state, rng, today.year)
        accounts = [seed_account(state, rng, n) for n in range(ACCOUNT_COUNT)]
        codes = [
            state.add_discount_code(code, kind, amount, name=f"Actie {code}") for code, kind, amount in DISCOUNT_CODES
        ]
        plans = sorted((plan_invoice(rng, today, n) for n in range(INVOICE_COUNT)), key=lambda p: p["created"])
        invoices = [create_invoice(state, rng, plan, vats, editions, accounts, codes) for plan in plans]
        run_lifecycle(state, plans, invoices)
    return state.counts()


def seed_settings(state) -> dict:
    state.add_signup_question("BTW-nummer", slug="btw-nummer", field_type="vat_number", system_name="vat_number")
    state.add_signup_question("Debiteurnummer", slug="debiteurnummer")
    state.add_signup_question("Geboortedatum", slug="geboortedatum", field_type="datepicker", for_type="user")
    return {
        "high": state.add_vat("21% BTW", "21"),
        "low": state.add_vat("9% BTW", "9"),
        "exempt": state.add_vat("0% BTW (vrijgesteld)", "0", has_vat=False),
    }


def seed_courses(state, rng: random.Random, year: int) -> list[tuple[dict, dict, str]]:
    """Courses with three editions each spread over the year; returns (edition, variant, VAT kind)."""
    editions = []
    for name, code, price, _center, vat_kind in DEMO_COURSES:
        course = state.add_course(name, code, cost=price, duration=f"{rng.randint(1, 5)} days", level="Intermediate")
        for _ in range(EDITIONS_PER_COURSE):
            start = date(year, 1, 5) + timedelta(days=rng.randint(0, 350))
            length = rng.randint(0, 4)
            edition = state.add_planned_course(
                course["id"], start, start + timedelta(days=length), location=rng.choice(LOCATIONS)
            )
            variant = state.tables["catalog_variants"][max(state.tables["catalog_variants"])]
            editions.append((edition, variant, vat_kind))
    return editions


def seed_account(state, rng: random.Random, n: int) -> dict:
    country = rng.choices(("NL", "BE", "DE"), weights=(70, 20, 10))[0]
    city, postcode = rng.choice(CITIES[country])
    address = {"address": f"{rng.choice(STREETS)} {rng.randint(1, 240)}", "postal_code": postcode}
    address.update(city=city, country=country)
    custom = {"debiteurnummer": f"D-{1000 + n}"}
    if rng.random() < 0.5:
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {business_suffix(country)}"
        if rng.random() < 0.9:  # some organisations never filled in their VAT number
            custom["btw-nummer"] = vat_number(rng, country)
        email = f"facturen{n}@{name.split()[0].lower()}.example"
        return state.add_account(name, "business", email=email, address=address, custom=custom)
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    email = f"{name.split()[0].lower()}.{n}@mail.example"
    return state.add_account(name, "personal", email=email, address=address, custom=custom)


def business_suffix(country: str) -> str:
    return {"NL": "B.V.", "BE": "NV", "DE": "GmbH"}[country]


def vat_number(rng: random.Random, country: str) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
    return {"NL": f"NL{digits}B01", "BE": f"BE0{digits}", "DE": f"DE{digits}"}[country]


def plan_invoice(rng: random.Random, today: date, n: int) -> dict:
    """Choose status and dates that agree with each other (an expired invoice is past its 30-day term)."""
    status = rng.choices(("concept", "open", "paid", "expired"), weights=(10, 25, 50, 15))[0]
    age = {"concept": (0, 29), "open": (0, 29), "paid": (0, HISTORY_DAYS), "expired": (40, HISTORY_DAYS)}[status]
    # Ages count from yesterday, so no date (opened, paid) lies later than the clock's now.
    opened_age = rng.randint(*age) + 1
    created = moment(today - timedelta(days=opened_age + rng.randint(0, 3)), rng)
    plan = {"n": n, "status": status, "created": created, "kind": invoice_kind(rng)}
    if status != "concept":
        plan["opened"] = max(created, moment(today - timedelta(days=opened_age), rng))
    if status == "paid":
        plan["paid"] = plan["opened"] + timedelta(days=rng.randint(0, min(30, opened_age - 1)), minutes=1)
    if status == "expired":
        plan["expired"] = plan["opened"] + timedelta(days=31)
    if status == "open" and rng.random() < 0.1:
        plan["partial"] = plan["opened"] + timedelta(minutes=5)
    return plan


def moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(8, 0), DEFAULT_TZ) + timedelta(minutes=rng.randint(0, 600))


def invoice_kind(rng: random.Random) -> str:
    return rng.choices(("order", "order_discount", "mixed_vat", "manual", "credit"), weights=(45, 12, 18, 22, 3))[0]


def create_invoice(state, rng, plan, vats, editions, accounts, codes) -> dict:
    edition, variant, vat_kind = rng.choice(editions)
    account = rng.choice(accounts)
    units = rng.choices((1, 2, 3), weights=(80, 15, 5))[0]
    line = {"name": variant["name"], "units": units, "unit_price": variant["cost"]}
    line.update(invoice_vat_id=vats[vat_kind]["id"], catalog_variant_id=variant["id"])
    feature = f"PO-{4500000 + plan['n']}" if account["account_type"] == "business" and rng.random() < 0.4 else None
    with state.clock.frozen_at(plan["created"]):
        if plan["kind"] in ("order", "order_discount"):
            code = rng.choice(codes)["discount_code"] if plan["kind"] == "order_discount" else None
            order = state.add_order(account["id"], variant["id"], units, code, vats[vat_kind]["id"])
            return state.add_invoice(account["id"], [line], feature=feature, order_id=order["id"])
        return state.add_invoice(account["id"], extra_lines(plan["kind"], line, vats), feature=feature)


def extra_lines(kind: str, line: dict, vats: dict) -> list[dict]:
    """Manual invoices: mixed VAT adds course material (9%) and an exam fee; credits negate the course line."""
    course_name = line["name"].split(" - ")[0]
    if kind == "mixed_vat":
        book = {"name": f"Studieboek {course_name}", "units": line["units"], "unit_price": "49.95"}
        book.update(invoice_vat_id=vats["low"]["id"], catalog_variant_id=None)
        exam = {"name": "Examengeld", "units": 1, "unit_price": "125.00", "invoice_vat_id": vats["high"]["id"]}
        return [line, book, {**exam, "catalog_variant_id": None}]
    if kind == "credit":
        return [{**line, "name": f"Creditering: {line['name']}", "unit_price": f"-{line['unit_price']}"}]
    return [line]


def run_lifecycle(state, plans: list[dict], invoices: list[dict]) -> None:
    """Replay open/pay/expire in time order, so invoice numbers rise with the opening date."""
    events = []
    for plan, invoice in zip(plans, invoices, strict=True):
        for step in ("opened", "partial", "paid", "expired"):
            if step in plan:
                events.append((plan[step], step, invoice["id"]))
    for at, step, invoice_id in sorted(events):
        with state.clock.frozen_at(at):
            apply_step(state, step, invoice_id)


def apply_step(state, step: str, invoice_id: int) -> None:
    if step == "opened":
        state.open_invoice(invoice_id)
    elif step == "partial":
        half = state.get_invoice(invoice_id)["total_incl"]
        state.pay_invoice(invoice_id, f"{float(half) / 2:.2f}")
    elif step == "paid":
        state.pay_invoice(invoice_id)
    else:
        state.expire_invoice(invoice_id)
