"""The settings page's alert field, labelled as the contract fixes: `Alert e-mail`."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

FIELD = "alert_email"


class AlertSettingsForm(forms.Form):
    alert_email = forms.CharField(
        label="Alert e-mail",
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "email", "placeholder": "finance@example.com, it@example.com"}),
        help_text="One or more addresses, separated by commas: a daily digest of invoices that need attention, "
        "and a mail at once when a connection needs you.",
    )

    def clean_alert_email(self) -> list[str]:
        """The addresses, each checked; every bad one is named in the error."""
        addresses = [part.strip() for part in self.cleaned_data["alert_email"].replace(";", ",").split(",")]
        addresses = [address for address in addresses if address]
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            names = ", ".join(f"'{address}'" for address in bad)
            raise ValidationError(
                f"Not a valid e-mail address: {names}. Give one or more addresses separated by commas, "
                "like finance@example.com, it@example.com."
            )
        return list(dict.fromkeys(addresses))
