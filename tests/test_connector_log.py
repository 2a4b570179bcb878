"""The connector log: a real HTTP call through connectors.http, logged by the core and
shown to the platform admin, secrets masked."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from connectors.http import ConnectorUnavailable, HttpClient
from core.builtin import forget_old_records
from core.connector_log import connector_logger
from core.db import db, utcnow
from core.models import ConnectorCall


@pytest.fixture
def failing_server():
    server = make_server(
        "127.0.0.1", 0, lambda environ, start: Response("indisponible", 503)(environ, start)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()


def test_failed_calls_are_logged_and_shown_without_secrets(
    app, client, commune, make_member, failing_server
):
    with app.app_context():
        http = HttpClient(
            failing_server,
            name="chamilo",
            retries=1,
            backoff=0.01,
            on_call=connector_logger(commune),
        )
        with pytest.raises(ConnectorUnavailable):
            http.get("/main/webservices/api/v2.php?api_key=tres-secret&action=courses")
        calls = list(db.scalars(select(ConnectorCall).order_by(ConnectorCall.id)))
    assert [(c.attempt, c.status, c.commune_id) for c in calls] == [
        (1, 503, commune.id),
        (2, 503, commune.id),
    ]
    assert all("tres-secret" not in c.url for c in calls)
    client.login(make_member(None, platform_admin=True).email)
    assert "2 appels à des outils externes ont échoué" in client.get("/admin/").get_data(
        as_text=True
    )
    page = client.get("/admin/connecteurs?connecteur=chamilo").get_data(as_text=True)
    assert "Faux-Villecerf" in page and "HTTP 503" in page and "tres-secret" not in page


def test_old_calls_are_pruned(app):
    with app.app_context():
        for age in (1, 20):
            db.add(
                ConnectorCall(
                    connector="vimeo",
                    method="GET",
                    url="https://api.vimeo.com/me",
                    status=500,
                    duration_ms=3,
                    attempt=1,
                    error="HTTP 500",
                    at=utcnow() - dt.timedelta(days=age),
                )
            )
        db.commit()
        forget_old_records()
        db.commit()
        assert [
            c.at > utcnow() - dt.timedelta(days=2) for c in db.scalars(select(ConnectorCall))
        ] == [True]
