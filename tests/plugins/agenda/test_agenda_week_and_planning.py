"""The week view, and "Mon planning": what a person has in every commune of theirs that uses
the agenda, and nothing of a commune they do not belong to."""

from __future__ import annotations

import re

from tests.plugins.agenda.helpers import AGENDA, calendars, create, page


def test_the_week_view_shows_seven_days_across_the_clock_change(app, village, client):
    client.login(village.maire.email)
    create(client, app, title="Conseil municipal", start_date="2026-10-27", start_time="18:00")
    create(
        client,
        app,
        title="Permanence",
        start_date="2026-10-05",
        start_time="09:00",
        end_time="11:00",
        repeat="weekly",
        weekdays=["MO", "TH"],
    )
    create(client, app, title="Fête des vendanges", start_date="2026-10-31", all_day="y")
    week = page(client, f"{AGENDA}/semaine?semaine=2026-W44")
    assert "Semaine du 26 octobre au 1 novembre 2026" in week
    headings = re.findall(r'<h3><time datetime="([0-9-]+)">', week)
    assert headings == [f"2026-10-{d}" for d in (26, 27, 28, 29, 30, 31)] + ["2026-11-01"]
    tuesday = week.split('datetime="2026-10-27"')[1].split("</li>\n  <li")[0]
    assert 'datetime="2026-10-27T18:00:00+01:00"' in tuesday and "Conseil municipal" in tuesday
    # The series on Mondays and Thursdays, after the clock change still at 09:00.
    assert 'datetime="2026-10-26T09:00:00+01:00"' in week
    assert 'datetime="2026-10-29T09:00:00+01:00"' in week
    assert "Fête des vendanges" in week.split('datetime="2026-10-31"')[1]
    assert 'href="/c/10145/agenda/semaine?semaine=2026-10-19"' in week
    assert 'href="/c/10145/agenda/semaine?semaine=2026-11-02"' in week
    # A date in the week, or nonsense, is understood or ignored, never an error.
    assert "Semaine du 26 octobre" in page(client, f"{AGENDA}/semaine?semaine=2026-10-29")
    assert client.get(f"{AGENDA}/semaine?semaine=2026-W99").status_code == 200


def test_a_busy_day_shows_four_dates_in_the_month_and_links_to_the_whole_day(app, village, client):
    client.login(village.maire.email)
    for hour in range(8, 14):
        create(
            client,
            app,
            title=f"Réunion de {hour} h",
            start_date="2026-10-14",
            start_time=f"{hour:02d}:00",
        )
    create(client, app, title="Marché", start_date="2026-10-15", start_time="08:00")
    month = page(client, f"{AGENDA}/?mois=2026-10")
    week = f"{AGENDA}/semaine?semaine=2026-10-14#jour-2026-10-14"
    grid, days = month.split('<section class="agenda-days"')
    # The grid (a wide screen) and the list of days (a phone) show the day's first four
    # dates, then a link to the whole day; a quiet day has no such link.
    for shown in (grid.split('datetime="2026-10-14"')[1], days.split("mercredi 14 octobre")[1]):
        shown = shown.split("jeudi 15 octobre")[0]
        assert re.findall(r"Réunion de (\d+) h", shown) == ["8", "9", "10", "11"]
        more = re.findall(r'<a class="agenda-more" href="([^"]+)">\+ 2 autres<span', shown)
        assert more == [week]
    assert month.count('class="agenda-more"') == 2
    assert "Marché" in grid and "Marché" in days
    # The link leads to the day, with all six.
    day = page(client, week.split("#")[0]).split('id="jour-2026-10-14"')[1]
    assert len(re.findall(r"Réunion de \d+ h", day.split("</li>\n  <li")[0])) == 6


def test_my_planning_gathers_my_communes_and_only_them(
    app, village, client, other_commune, make_member, enable_module
):
    from core.testing import add_commune

    enable_module(other_commune, "agenda")
    third = add_commune(app, "10387", "Prunay-Belleville")
    enable_module(third, "agenda")
    # Nadia is conseillère in Faux-Villecerf and maire of Dierrey-Saint-Julien.
    nadia = village.conseiller
    make_member(other_commune, "maire", email=nadia.email)
    stranger = make_member(third, "maire")

    client.login(village.maire.email)
    create(client, app, title="Conseil de Faux-Villecerf", start_date="2026-10-22")
    create(
        client, app, title="Entretien privé du maire", start_date="2026-10-23", visibility="private"
    )
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})

    for person, commune, title in (
        (nadia, other_commune, "Conseil de Dierrey"),
        (stranger, third, "Conseil de Prunay"),
    ):
        client.login(person.email)
        council = next(c.id for c in calendars(app, commune) if c.kind == "conseil")
        client.submit(
            f"/c/{commune.insee}/agenda/nouvel-evenement",
            {
                "calendar": str(council),
                "title": title,
                "start_date": "2026-10-21",
                "start_time": "20:00",
                "end_time": "21:00",
                "category": "seance",
                "visibility": "public",
            },
        )
        client.post("/deconnexion", data={"csrf_token": client.csrf_token()})

    client.login(nadia.email)
    planning = page(client, f"{AGENDA}/mon-planning?du=2026-10-20")
    assert "dans toutes vos communes" in planning
    assert planning.index("Conseil de Dierrey") < planning.index("Conseil de Faux-Villecerf")
    assert re.search(r'href="/c/10124/agenda/evenement/\d+">Conseil de Dierrey', planning)
    assert "Dierrey-Saint-Julien" in planning  # each line names its commune
    assert "Conseil de Prunay" not in planning  # not her commune
    assert "Entretien privé du maire" not in planning  # not hers to see

    # Turned off in Dierrey, its agenda leaves her planning.
    from core import modules
    from core.db import db
    from core.models import Commune

    with app.app_context():
        modules.disable(db.get(Commune, other_commune.id), "agenda")
        db.commit()
    assert "Conseil de Dierrey" not in page(client, f"{AGENDA}/mon-planning?du=2026-10-20")


def test_my_planning_as_a_feed_for_my_phone(
    app, village, client, other_commune, make_member, enable_module
):
    """The secret address of « Mon planning »: what I see in all my communes, my private
    events included, nothing of anyone else's; a 304 to a phone that has it; replaced, the
    old address stops working."""
    from html import unescape

    from sqlalchemy import select

    from core.db import db
    from core.models import AuditEvent, User
    from tests.plugins.agenda.helpers import parse

    enable_module(other_commune, "agenda")
    nadia = village.conseiller
    make_member(other_commune, "maire", email=nadia.email)
    client.login(village.maire.email)
    create(client, app, title="Conseil de Faux-Villecerf", start_date="2026-10-22")
    create(
        client, app, title="Entretien privé du maire", start_date="2026-10-23", visibility="private"
    )
    client.post("/deconnexion", data={"csrf_token": client.csrf_token()})

    client.login(nadia.email)
    dierrey = f"/c/{other_commune.insee}/agenda"

    def add_in_dierrey(title: str, visibility: str) -> None:
        council = next(c.id for c in calendars(app, other_commune) if c.kind == "conseil")
        response = client.submit(
            f"{dierrey}/nouvel-evenement",
            {
                "calendar": str(council),
                "title": title,
                "start_date": "2026-10-21",
                "start_time": "20:00",
                "end_time": "21:00",
                "category": "reunion",
                "visibility": visibility,
            },
        )
        assert response.status_code == 302

    add_in_dierrey("Rendez-vous chez le notaire", "private")
    assert "Pas encore d'adresse d'abonnement" in page(client, f"{AGENDA}/mon-planning")
    made = client.submit(f"{AGENDA}/mon-planning/abonnement", {}, page=f"{AGENDA}/mon-planning")
    assert made.status_code == 200
    address = unescape(
        re.search(r'id="adresse-planning" [^>]*value="([^"]+)"', made.get_data(as_text=True)).group(
            1
        )
    )
    assert "/agenda/mon-planning/" in address and address.endswith(".ics")
    feed = address.split("viatic.test", 1)[1]

    phone = app.test_client()  # no session: the address is the only key
    answer = phone.get(feed)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    cal = parse(answer.data)
    assert str(cal["X-WR-CALNAME"]) == f"Planning de {nadia.name}"
    summaries = {str(e["SUMMARY"]): str(e["URL"]) for e in cal.walk("VEVENT")}
    assert set(summaries) == {"Conseil de Faux-Villecerf", "Rendez-vous chez le notaire"}
    assert "/c/10145/agenda/evenement/" in summaries["Conseil de Faux-Villecerf"]
    assert f"/c/{other_commune.insee}/agenda/evenement/" in summaries["Rendez-vous chez le notaire"]

    # A phone that has this version gets a 304; a new event makes a new version.
    tag = answer.headers["ETag"]
    assert phone.get(feed, headers={"If-None-Match": tag}).status_code == 304
    add_in_dierrey("Réunion publique", "public")
    again = phone.get(feed, headers={"If-None-Match": tag})
    assert again.status_code == 200 and b"R\xc3\xa9union publique" in again.data

    # Replaced: the old address answers 404 with a reason; the new one works.
    remade = client.submit(f"{AGENDA}/mon-planning/abonnement", {}, page=f"{AGENDA}/mon-planning")
    fresh = unescape(
        re.search(
            r'id="adresse-planning" [^>]*value="([^"]+)"', remade.get_data(as_text=True)
        ).group(1)
    )
    gone = phone.get(feed)
    assert gone.status_code == 404 and "n'est plus valable" in unescape(gone.get_data(as_text=True))
    assert phone.get(fresh.split("viatic.test", 1)[1]).status_code == 200
    assert "Adresse créée le" in page(client, f"{AGENDA}/mon-planning")
    with app.app_context():
        actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == nadia.id)))
        assert actions.count("agenda.planning_feed_created") == 1
        assert actions.count("agenda.planning_feed_regenerated") == 1
        # An account closed: its address opens nothing.
        db.get(User, nadia.id).is_active = False
        db.commit()
    assert phone.get(fresh.split("viatic.test", 1)[1]).status_code == 404
