"""GET /healthz answers 200 when the database and the broker answer."""

import pytest


@pytest.mark.django_db
def test_it_answers_200_when_the_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_does_not_answer(client, monkeypatch):
    from kombu import Connection

    from eduexact_site.celery import app

    # A broker on a port where nothing listens.
    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] is False


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405
