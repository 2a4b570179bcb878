"""Schemathesis against the OpenAPI document: generated requests to every documented
endpoint, signed in with a personal access token that has every scope. No 5xx, and every
response (status, content type, headers, body) conforms to the document.

The operations are driven through their Hypothesis strategies (``as_strategy``) rather than
schemathesis' pytest plugin, whose lazy fixture loader does not run under pytest 9."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from core import tokens
from core.db import db
from core.models import Notification

pytestmark = pytest.mark.slow

EXAMPLES = 30  # per operation


def test_every_endpoint_conforms_to_the_document(app, commune, make_member):
    maire = make_member(commune, "maire")
    with app.app_context():
        for i in range(3):
            db.add(Notification(user_id=maire.id, type="core.member_joined", title=f"N{i}"))
        scopes = app.extensions["viatic.plugins"].api_scopes
        raw, _token = tokens.create(maire, "schemathesis", scopes, 30)
        db.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {raw}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        conforms()
