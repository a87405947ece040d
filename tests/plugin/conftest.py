"""Fixtures for the administrator's pages: a seeded Exact division, a seeded Eduframe tenant, a signed-in
browser session, and a connection made with the Exact simulator's own tokens."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from django.utils import timezone

from plugin.models import ExactConnection
from sandbox.demo_data import EXACT_DEMO_DIVISION, seed_courses, seed_settings
from tests.factories import GlobalSettingsFactory, InstallationFactory

DIVISION = EXACT_DEMO_DIVISION["code"]


@pytest.fixture
def exact_world(exact_sandbox):
    """The Exact simulator with the demo division, approving consent at once."""
    exact_sandbox.state.seed_division(**EXACT_DEMO_DIVISION)
    exact_sandbox.state.auto_approve = True
    return exact_sandbox


@pytest.fixture
def eduframe_world(eduframe_sandbox):
    """The Eduframe simulator with VAT rates, 20 course templates and their editions (no invoices)."""
    state = eduframe_sandbox.state
    with state.webhooks_suppressed():
        eduframe_sandbox.vats = seed_settings(state)
        eduframe_sandbox.editions = seed_courses(state, random.Random(7), date.today().year)
    return eduframe_sandbox


@pytest.fixture
def installation(db):
    return InstallationFactory(educator_slug="demo-academy", educator_name="Demo Academy")


@pytest.fixture
def admin(client, installation):
    """A browser session bound to `installation`, as after the install flow."""
    session = client.session
    session["installation_id"] = installation.pk
    session.save()
    return client


def connect(installation, exact_world) -> ExactConnection:
    """An Exact connection holding real simulator tokens, and complete global settings."""
    user = exact_world.state.default_user()
    tokens = exact_world.state.issue_tokens_for(user.user_id)
    now = timezone.now()
    GlobalSettingsFactory(installation=installation, division=DIVISION, sync_from=date.today() - timedelta(days=7))
    return ExactConnection.objects.create(
        installation=installation,
        base_url=exact_world.url,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_expires_at=now + timedelta(seconds=600),
        tokens_issued_at=now,
        exact_user_name=user.full_name,
        exact_user_email=user.email,
    )


@pytest.fixture
def connected(installation, exact_world) -> ExactConnection:
    return connect(installation, exact_world)


@pytest.fixture
def other_installation(db):
    return InstallationFactory(educator_slug="other-academy")


def settings_values(**changes) -> dict:
    """The global settings form as an administrator fills it in, with `changes`."""
    values = {
        "division": DIVISION,
        "sync_from": (date.today() - timedelta(days=7)).isoformat(),
        "ledger_code": "8000",
        "journal_code": "70",
        "discount_ledger_code": "",
    }
    return {**values, **changes}
