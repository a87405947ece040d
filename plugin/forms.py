"""Forms of the administrator's pages; labels are the Eduframe article's words, exactly."""

from __future__ import annotations

from typing import cast

from django import forms

from sync.exact.regions import EXACT_HOSTS
from sync.services.plan_vat import eduframe_percentage, exact_percentage

REGION_NAMES = {
    "nl": "Netherlands",
    "be": "Belgium",
    "de": "Germany",
    "uk": "United Kingdom",
    "com": "United States / international",
    "es": "Spain",
    "fr": "France",
}


def _code_field(label: str, required: bool = False, help_text: str = "") -> forms.CharField:
    return forms.CharField(label=label, max_length=20, required=required, strip=True, help_text=help_text)


class ApiTokenForm(forms.Form):
    token = forms.CharField(
        label="Eduframe API token",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Create it in Eduframe under My profile → Add access token, with the scopes listed below.",
    )

    def clean_token(self) -> str:
        # A token travels in an HTTP header: only visible ASCII. Spaces and line breaks around it come from pasting.
        token = self.cleaned_data["token"].strip()
        if not token.isascii() or not token.isprintable() or " " in token or len(token) > 4096:
            raise forms.ValidationError(
                "This is not an Eduframe API token: a token has only letters, digits and punctuation, no spaces. "
                "Copy it again from Eduframe."
            )
        return token


class ConnectExactForm(forms.Form):
    region = forms.ChoiceField(
        label="Exact Online country",
        choices=[
            (key, f"{REGION_NAMES.get(key, key)} ({host.removeprefix('https://')})")
            for key, host in EXACT_HOSTS.items()
        ],
        initial="nl",
    )


class DivisionForm(forms.Form):
    division = forms.TypedChoiceField(label="Division", coerce=int)

    def __init__(self, *args, divisions=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["division"]).choices = [
            (d.code, f"{d.code} – {d.description}") for d in divisions
        ]


class GlobalSettingsForm(forms.Form):
    division = forms.IntegerField(
        label="Division", min_value=1, help_text="The code of the Exact Online division the entries go to."
    )
    sync_from = forms.DateField(
        label="Sync from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Invoices dated before this day are not booked. Start with a few days back.",
    )
    ledger_code = _code_field("Ledger code", required=True, help_text="The revenue account for course lines.")
    journal_code = _code_field("Journal code", required=True, help_text="A sales journal of the division.")
    discount_ledger_code = _code_field(
        "Discount ledger", help_text="Optional: the revenue account (ledger code) for discount lines."
    )


class OverrideForm(forms.Form):
    ledger_code = _code_field("Ledger code")
    cost_center = _code_field("Cost center")
    cost_unit = _code_field("Cost unit")


class VatMappingForm(forms.Form):
    """One select per Eduframe VAT rate, offering the division's sales VAT codes."""

    def __init__(self, *args, rates=(), vat_codes=(), initial_codes=None, **kwargs):
        super().__init__(*args, **kwargs)
        initial_codes = initial_codes or {}
        choices = [("", "— not mapped —")] + [
            (code.code, f"{code.code} – {code.description} ({exact_percentage(code):f}%)") for code in vat_codes
        ]
        for rate in rates:
            self.fields[self.field_name(rate.id)] = forms.ChoiceField(
                label=f"{rate.name} ({eduframe_percentage(rate):f}%)",
                choices=choices,
                required=False,
                initial=initial_codes.get(rate.id, ""),
            )

    @staticmethod
    def field_name(rate_id: int) -> str:
        return f"vat_{rate_id}"

    def chosen(self, rates) -> dict[int, str]:
        return {rate.id: self.cleaned_data.get(self.field_name(rate.id), "") for rate in rates}
