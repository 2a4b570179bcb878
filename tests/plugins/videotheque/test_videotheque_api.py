"""The Vidéothèque's JSON API: the published testimonies, one testimony, one's rating; bad
input gets a problem naming the field; what is not published stays invisible."""

from __future__ import annotations

from tests.plugins.videotheque.helpers import LIBRARY, approve, count_ratings, upload

API = "/api/v1/c/10145/videotheque"


def test_the_api_lists_published_testimonies_and_takes_a_rating(app, client, village):
    client.login(village.maire.email)
    published = upload(client, title="Publiée")
    hidden = upload(client, title="En attente")
    client.login(village.moderator.email)
    approve(client, published)

    client.login(village.agent.email)
    listing = client.get(f"{API}/videos")
    assert listing.status_code == 200
    assert [v["title"] for v in listing.json] == ["Publiée"]
    [item] = listing.json
    assert item["commune_insee"] == "10145" and item["themes"] == ["ecole", "urbanisme"]
    assert item["captions_url"].endswith(f"{LIBRARY}/video/{published}/sous-titres.vtt")
    assert client.get(f"{API}/videos/{hidden}").status_code == 404
    assert client.get(f"{API}/videos?theme=inconnu").json["field"] == "theme"

    token = client.csrf_token(f"{LIBRARY}/")
    headers = {"X-CSRFToken": token}
    bad = client.put(f"{API}/videos/{published}/ma-note", json={"stars": 9}, headers=headers)
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert bad.json["field"] == "stars" and "1 à 5" in bad.json["detail"]
    html = client.put(
        f"{API}/videos/{published}/ma-note",
        json={"stars": 4, "review": "<script>x</script>"},
        headers=headers,
    )
    assert html.status_code == 400 and html.json["field"] == "review"
    assert count_ratings(app) == 0
    for stars in (4, 5):
        rated = client.put(
            f"{API}/videos/{published}/ma-note", json={"stars": stars}, headers=headers
        )
        assert rated.status_code == 200
    assert rated.json == {"stars": 5, "review": "", "rating_average": 5.0, "rating_count": 1}
    assert client.get(f"{API}/videos/{published}").json["rating_count"] == 1
    assert (
        client.put(f"{API}/videos/{published}/ma-note", data="x", headers=headers).status_code
        == 400
    )
