"""« Tester la connexion » checks the admin-only web services that enrolments need, and says
which part fails."""

from __future__ import annotations

from tests.plugins.academie.helpers import configure_chamilo, page, says

CONNECTION = "/c/10145/chamilo/connexion"


def test_testing_the_connection_checks_the_admin_only_web_services(
    app, client, village, chamilo, enable_module
):
    enable_module(village.commune, "chamilo")
    configure_chamilo(app, village, chamilo)
    client.login(village.maire.email)

    def tested() -> str:
        response = client.submit(CONNECTION, {}, page=CONNECTION)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    chamilo.fake.adminonly_api = False
    html = tested()
    assert says(
        html,
        "Identifiants acceptés et catalogue lu, mais Chamilo refuse à « admin » ses services "
        "web réservés aux administrateurs, dont les inscriptions ont besoin.",
    )
    assert "webservice_enable_adminonly_api" in html and "Connexion réussie" not in html
    modules = page(client, "/c/10145/admin/modules")
    assert says(modules, "En panne : Identifiants acceptés et catalogue lu, mais Chamilo refuse")

    chamilo.fake.adminonly_api = True
    assert "Connexion réussie : 3 formations disponibles." in tested()

    # A Chamilo user who is not a platform admin gets as far, and no further.
    chamilo.fake.add_user("formateur", "formateur-secret", status=1)
    configure_chamilo(app, village, chamilo, username="formateur", password="formateur-secret")
    assert says(tested(), "mais Chamilo refuse à « formateur » ses services web réservés")
