"""factory-boy factories for the plugin's and the sync's models."""

from __future__ import annotations

import factory
from django.utils import timezone

from plugin.models import CourseOverride, ExactConnection, GlobalSettings, Installation, VatMapping
from sync.models import InvoiceRecord


class InstallationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Installation

    educator_slug = factory.Sequence(lambda n: f"academy-{n}")
    educator_name = factory.LazyAttribute(lambda o: o.educator_slug.replace("-", " ").title())
    eduframe_access_token = "demo-token"


class ExactConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExactConnection

    installation = factory.SubFactory(InstallationFactory)
    base_url = "https://start.exactonline.nl"
    access_token = factory.Sequence(lambda n: f"access-{n}")
    refresh_token = factory.Sequence(lambda n: f"refresh-{n}")
    access_expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(seconds=600))
    tokens_issued_at = factory.LazyFunction(timezone.now)


class GlobalSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GlobalSettings
        django_get_or_create = ("installation",)

    installation = factory.SubFactory(InstallationFactory)
    division = 1234567
    ledger_code = "8000"
    journal_code = "70"


class CourseOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseOverride

    installation = factory.SubFactory(InstallationFactory)
    scope = CourseOverride.Scope.TEMPLATE
    eduframe_id = factory.Sequence(lambda n: 1000 + n)


class VatMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VatMapping

    installation = factory.SubFactory(InstallationFactory)
    eduframe_vat_id = factory.Sequence(lambda n: n + 1)


class InvoiceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceRecord

    installation = factory.SubFactory(InstallationFactory)
    eduframe_invoice_id = factory.Sequence(lambda n: 5000 + n)


def sandbox_connection(installation: Installation, exact_sandbox) -> ExactConnection:
    """A connected ExactConnection holding fresh tokens issued by the running Exact simulator's default user."""
    from datetime import timedelta

    tokens = exact_sandbox.state.issue_tokens_for(exact_sandbox.state.default_user().user_id)
    now = timezone.now()
    return ExactConnectionFactory(
        installation=installation,
        base_url=exact_sandbox.url,
        status=ExactConnection.Status.CONNECTED,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_expires_at=now + timedelta(seconds=600),
        tokens_issued_at=now,
    )
