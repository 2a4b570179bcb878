"""``viatic demo`` fills the library with published, captioned testimonies, once."""

from __future__ import annotations

from core import demo
from tests.plugins.videotheque.helpers import LIBRARY, page, videos


def test_the_demo_publishes_three_testimonies_once(app, client, viatic):
    for _run in range(2):
        result = viatic("demo")
        assert result.exit_code == 0, result.output
    in_demo = [v for v in videos(app) if v.commune_id == videos(app)[0].commune_id]
    assert len(in_demo) == 3 and all(v.published_at and v.captions_vtt for v in in_demo)
    client.login(demo.PEOPLE[0].email, demo.PASSWORD)
    assert "Une cantine bio et locale en deux ans" in page(client, f"{LIBRARY}/")
