"""`GET /healthz`: 200 when the database and the broker answer (contract: HTTP entry points)."""

from __future__ import annotations

import pytest

from tests.contract.harness import http

pytestmark = pytest.mark.contract


def test_healthz_answers_200_with_the_database_and_the_broker_up(service):
    answer = http("GET", f"{service.url}/healthz")
    assert answer.status == 200, answer.body
    assert answer.json() == {"status": "ok", "database": True, "broker": True}
