"""Capabilities: switching the provider changes the backend, not the page."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.db import db
from core.models import AuditEvent


def _page_without_backend(html: str) -> str:
    return re.sub(r"https://video[ab]\.example/video[ab]-1", "BACKEND", html)


def test_switching_video_provider_changes_the_backend_not_the_page(
    app, client, commune, make_member, enable_module
):
    for name in ("videos", "videoa", "videob"):
        enable_module(commune, name)
    client.login(make_member(commune, role="maire", admin=True).email)
    assert (
        client.submit(
            "/c/10145/admin/fournisseurs/video",
            {"video-provider": "videoa"},
            page="/c/10145/admin/modules",
        ).status_code
        == 302
    )
    with_a = client.get("/c/10145/videos/").get_data(as_text=True)
    client.submit(
        "/c/10145/admin/fournisseurs/video",
        {"video-provider": "videob"},
        page="/c/10145/admin/modules",
    )
    with_b = client.get("/c/10145/videos/").get_data(as_text=True)
    assert "https://videoa.example/videoa-1" in with_a
    assert "https://videob.example/videob-1" in with_b
    assert _page_without_backend(with_a) == _page_without_backend(with_b)
    with app.app_context():
        changes = [
            e.details
            for e in db.scalars(
                select(AuditEvent).where(AuditEvent.action == "capability.provider_changed")
            )
        ]
    assert changes == [{"before": None, "after": "videoa"}, {"before": "videoa", "after": "videob"}]


def test_a_single_enabled_provider_is_used_without_a_choice(
    client, commune, make_member, enable_module
):
    enable_module(commune, "videos")
    enable_module(commune, "videob")
    client.login(make_member(commune).email)
    assert "https://videob.example" in client.get("/c/10145/videos/").get_data(as_text=True)


def test_no_provider_shows_unavailable_instead_of_an_error(
    client, commune, make_member, enable_module
):
    enable_module(commune, "videos")
    client.login(make_member(commune).email)
    response = client.get("/c/10145/videos/")
    assert response.status_code == 200
    assert "Module momentanément indisponible." in response.get_data(as_text=True)


def test_a_provider_that_is_not_enabled_cannot_be_chosen(
    client, commune, make_member, enable_module
):
    enable_module(commune, "videos")
    client.login(make_member(commune, role="maire", admin=True).email)
    response = client.submit(
        "/c/10145/admin/fournisseurs/video",
        {"video-provider": "videoa"},
        page="/c/10145/admin/modules",
        follow_redirects=True,
    )
    assert "Activez d&#39;abord ce module." in response.get_data(as_text=True)
    unknown = client.submit(
        "/c/10145/admin/fournisseurs/meteo",
        {"meteo-provider": "videoa"},
        page="/c/10145/admin/modules",
    )
    assert unknown.status_code == 404


def test_a_named_provider_is_reached_after_the_commune_chose_another(app, commune, enable_module):
    import pytest

    from core.capabilities import CapabilityUnavailable, capability
    from core.modules import choose_provider

    for name in ("videos", "videoa", "videob"):
        enable_module(commune, name)
    with app.test_request_context():
        here = db.merge(commune)
        choose_provider(here, "video", "videob")
        assert capability(here, "video").backend == "videob"
        assert capability(here, "video", provider="videoa").backend == "videoa"
        with pytest.raises(CapabilityUnavailable):
            capability(here, "video", provider="videos")  # enabled, but provides no video
        with pytest.raises(CapabilityUnavailable):
            capability(here, "video", provider="inconnu")
