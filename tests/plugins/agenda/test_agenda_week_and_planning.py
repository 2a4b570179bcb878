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
