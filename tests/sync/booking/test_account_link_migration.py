"""Links made before the account policy: our EF accounts stay ours, any other is checked once under the policy."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
SYNC_BEFORE, SYNC_AFTER = ("sync", "0001_initial"), ("sync", "0002_account_link_origin_and_candidate")


def _with_other_apps_at_their_leaves(executor: MigrationExecutor, node: tuple[str, str]) -> list[tuple[str, str]]:
    """Move only sync: the other apps' tables stay as their latest migrations made them."""
    return [node] + [leaf for leaf in executor.loader.graph.leaf_nodes() if leaf[0] == "plugin"]


@pytest.fixture
def migrated_back():
    """Leave the database at the latest migrations whatever the test does, so later tests see every table."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_only_links_to_our_own_code_become_created(migrated_back):
    executor = MigrationExecutor(connection)
    BEFORE = _with_other_apps_at_their_leaves(executor, SYNC_BEFORE)
    AFTER = _with_other_apps_at_their_leaves(executor, SYNC_AFTER)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Installation = old.get_model("plugin", "Installation")
    AccountLink = old.get_model("sync", "AccountLink")
    installation = Installation.objects.create(educator_slug="legacy-academy", webhook_secret="s" * 32)
    for eduframe_id, code in ((7, "EF7"), (8, "4711")):
        AccountLink.objects.create(
            installation=installation, eduframe_account_id=eduframe_id, exact_account_id=uuid.uuid4(), exact_code=code
        )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("sync", "AccountLink")
    assert dict(new.objects.values_list("eduframe_account_id", "origin")) == {7: "created", 8: ""}
