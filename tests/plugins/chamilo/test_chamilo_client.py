"""connectors.chamilo against the fake Chamilo: the contract's envelope, keys and errors."""

from __future__ import annotations

import pytest
import requests

from connectors.chamilo import (
    UNKNOWN_ACTION,
    Account,
    ChamiloClient,
    ChamiloRefused,
    CredentialsRefused,
    FeatureMissing,
    InvalidApiKey,
    NotAllowed,
    NotChamilo,
)
from connectors.http import BreakerRegistry, ConnectorUnavailable
from tests.plugins.chamilo.fake_chamilo import FRENCH


def client(chamilo, **options) -> ChamiloClient:
    options.setdefault("retries", 0)
    options.setdefault("breakers", BreakerRegistry())
    return ChamiloClient(chamilo.url, "admin", options.pop("password", "admin-secret"), **options)


def test_the_key_is_obtained_once_and_stays_the_same(chamilo):
    keys = []
    first = client(chamilo, on_api_key=keys.append)
    first.courses()
    first.courses()
    assert chamilo.fake.requests["authenticate"] == 1
    assert client(chamilo).authenticate() == keys[0]
    assert len(keys) == 1


def test_a_stored_key_is_used_without_authenticating(chamilo):
    key = client(chamilo).authenticate()
    chamilo.fake.requests.clear()
    client(chamilo, api_key=key).courses()
    assert chamilo.fake.requests == {"get_courses": 1}


def test_a_refused_key_means_one_new_authentication_and_the_call_again(chamilo):
    keys = []
    chamilo.fake.add_course("Le budget communal")
    stale = client(chamilo).authenticate()
    chamilo.fake.rotate_key("admin")
    courses = client(chamilo, api_key=stale, on_api_key=keys.append).courses()
    assert [c.title for c in courses] == ["Le budget communal"]
    assert keys == [chamilo.fake.user("admin").api_key]
    assert chamilo.fake.requests["get_courses"] == 2


def test_wrong_credentials_are_refused_with_chamilos_message(chamilo):
    with pytest.raises(CredentialsRefused) as refused:
        client(chamilo, password="wrong").courses()
    assert refused.value.message == "InvalideUserDetected"


def test_courses_carry_the_campus_prefix_and_numbers_sent_as_strings(chamilo):
    chamilo.fake.add_course("Urbanisme", code="URBA", description="Le PLU", category_code="URB")
    [course] = client(chamilo).courses()
    assert (course.id, course.code, course.title) == (1, "CAMPUS_1_URBA", "Urbanisme")
    assert (course.description, course.category) == ("Le PLU", "URB")


def test_a_learner_is_created_found_again_and_subscribed_once(chamilo):
    chamilo.fake.add_course("Cantine scolaire")
    api = client(chamilo)
    assert api.username_exists("viatic-7") is False
    user_id = api.create_learner(
        loginname="viatic-7",
        password="x" * 20,
        firstname="Claire",
        lastname="Martin",
        email="claire@example.fr",
        original_id="7",
        extra={"oauth2_id": "7"},
    )
    created = chamilo.fake.user("viatic-7")
    assert (created.id, created.status, created.original_id) == (
        user_id,
        5,
        ("viatic_user_id", "7"),
    )
    assert created.extra == {"oauth2_id": "7"}
    assert api.username_exists("viatic-7") is True
    account = api.account("viatic-7")
    assert (account.id, account.username) == (user_id, "viatic-7") and account.api_key
    assert api.subscribe(user_id, 1) is True
    assert api.subscribe(user_id, 1) is False  # Chamilo does not subscribe twice
    assert api.user_course_ids(user_id) == {1}
    assert chamilo.fake.subscriptions == {(user_id, 1)}


def test_a_taken_username_is_refused(chamilo):
    api = client(chamilo)
    options = dict(password="p", firstname="A", lastname="B", email="a@b.fr", original_id="1")
    api.create_learner(loginname="viatic-1", **options)
    with pytest.raises(ChamiloRefused) as refused:
        api.create_learner(loginname="viatic-1", **options)
    assert refused.value.message == "UserNameNotAvailable"


def test_progress_is_the_learners_own_mean_over_the_learning_paths(chamilo):
    fake = chamilo.fake
    course = fake.add_course("Cimetières")
    first = fake.add_learnpath(course, "Les concessions")
    second = fake.add_learnpath(course, "La reprise", category=(3, "Module 2"))
    api = client(chamilo)
    for name in ("viatic-1", "viatic-2"):
        api.create_learner(
            loginname=name, password="p", firstname="A", lastname="B", email="", original_id="1"
        )
    fake.set_progress("viatic-1", first, 100)
    fake.set_progress("viatic-1", second, 50)
    fake.set_progress("viatic-2", first, 10)
    assert api.progress(api.account("viatic-1"), course.id) == 75
    assert api.progress(api.account("viatic-2"), course.id) == 5
    empty = fake.add_course("Sans parcours")
    assert api.progress(api.account("viatic-1"), empty.id) is None


def test_a_learner_may_not_subscribe_someone_else(chamilo):
    fake = chamilo.fake
    fake.add_course("Budget")
    other = fake.add_user("voisin")
    learner = fake.add_user("moi", "pw")
    key = ChamiloClient(chamilo.url, "moi", "pw", retries=0).authenticate()
    as_learner = ChamiloClient(chamilo.url, "moi", "pw", api_key=key, retries=0)
    with pytest.raises(NotAllowed) as refused:
        as_learner.subscribe(other.id, 1)
    assert refused.value.message == "NotAllowed"
    assert as_learner.subscribe(learner.id, 1) is True  # self is allowed
    with pytest.raises(NotAllowed):
        as_learner.account("voisin")  # admin-only


def test_the_admin_only_web_services_switched_off_refuse_the_admin_too(chamilo):
    admin = client(chamilo)
    chamilo.fake.adminonly_api = False
    with pytest.raises(NotAllowed):
        admin.account("admin")
    assert admin.courses() == []  # the other actions still answer
    chamilo.fake.adminonly_api = True
    assert admin.account("admin").username == "admin"


def test_a_french_chamilos_refusal_of_the_admin_calls_is_asked_about_not_read(chamilo):
    """A French Chamilo says NotAllowed in French: the client does not read the words, it
    asks Chamilo whether the admin-only web services are refused to the user."""
    fake = chamilo.fake
    fake.language = "french"
    fake.add_user("formateur", "formateur-secret", status=1)  # no platform admin
    teacher = ChamiloClient(
        chamilo.url, "formateur", "formateur-secret", retries=0, breakers=BreakerRegistry()
    )
    options = dict(password="p", firstname="A", lastname="B", email="a@b.fr", original_id="1")
    with pytest.raises(NotAllowed) as refused:
        teacher.create_learner(loginname="viatic-1", **options)
    assert refused.value.message == FRENCH["NotAllowed"]  # shown, never matched
    # Its words are neither a refused key's nor an unknown action's (two calls that must
    # fail, the second with a fresh key); then the probe: a fresh authentication, and the
    # user's own key, an admin-only call.
    assert fake.requests == {
        "authenticate": 3,
        "save_user": 1,
        UNKNOWN_ACTION: 2,
        "get_user_api_key": 1,
    }
    assert "viatic-1" not in fake.by_name

    admin = client(chamilo)
    admin.create_learner(loginname="viatic-1", **options)
    fake.adminonly_api = False
    with pytest.raises(NotAllowed):
        admin.account("viatic-1")  # the admin too, while they are switched off
    fake.adminonly_api = True
    # A refusal of the request, not of the settings, stays one, in Chamilo's words.
    with pytest.raises(ChamiloRefused) as taken:
        admin.create_learner(loginname="viatic-1", **options)
    assert type(taken.value) is ChamiloRefused
    assert taken.value.message == "Ce nom d'utilisateur n'est pas disponible"


def test_a_key_a_french_chamilo_rotated_is_told_renewed_and_the_call_repeated(chamilo):
    fake = chamilo.fake
    fake.add_course("Le budget communal")
    stale = client(chamilo).authenticate()
    fake.rotate_key("admin")
    fake.language = "french"
    fake.requests.clear()
    keys = []
    courses = client(chamilo, api_key=stale, on_api_key=keys.append).courses()
    assert [c.title for c in courses] == ["Le budget communal"]
    assert keys == [fake.user("admin").api_key]
    # The words compared (the second comparison call's fresh key is the one kept), no more.
    assert fake.requests == {"get_courses": 2, "authenticate": 1, UNKNOWN_ACTION: 2}


def test_a_probe_that_meets_an_outage_is_an_outage(chamilo):
    fake = chamilo.fake
    fake.language = "french"
    api = client(chamilo)
    original = fake._do_get_user_api_key

    def down_after_the_refusal(caller):
        fake.mode = "down"  # the refusal went out; the probe's authentication finds it down
        return original(caller)

    fake.adminonly_api = False
    fake._do_get_user_api_key = down_after_the_refusal
    with pytest.raises(ConnectorUnavailable):
        api.account("admin")


def test_a_removed_course_is_reported_as_no_course(chamilo):
    api = client(chamilo)
    api.create_learner(
        loginname="viatic-1", password="p", firstname="A", lastname="B", email="", original_id="1"
    )
    with pytest.raises(ChamiloRefused) as refused:
        api.progress(api.account("viatic-1"), 99)
    assert refused.value.message == "NoCourse"


def test_profile_changes_are_sent_and_passwords_are_not_updatable(chamilo):
    api = client(chamilo)
    api.create_learner(
        loginname="viatic-1", password="p", firstname="A", lastname="B", email="", original_id="1"
    )
    api.update_user("viatic-1", firstname="Anne", email="anne@example.fr")
    assert chamilo.fake.user("viatic-1").firstname == "Anne"
    with pytest.raises(ChamiloRefused) as refused:
        api.update_user("viatic-1", password="nouveau")
    assert refused.value.message == "UnsupportedUpdate 'password'"


def test_an_unknown_action_means_the_chamilo_is_too_old(chamilo):
    with pytest.raises(FeatureMissing):
        client(chamilo).call("get_sessions_of_the_future")


def test_a_french_chamilos_unknown_action_is_told_by_comparison_once_per_client(chamilo):
    """A French Chamilo says InvalidAction in French: the client compares the words with
    its answer to an action no Chamilo has, asked once."""
    fake = chamilo.fake
    fake.language = "french"
    fake.unknown_actions = {"get_sessions", "user_courses"}  # an older Chamilo
    api = client(chamilo)
    with pytest.raises(FeatureMissing) as missing:
        api.call("get_sessions", read=True)
    assert "get_sessions" in missing.value.message
    with pytest.raises(FeatureMissing):
        api.user_course_ids(1)
    assert fake.requests[UNKNOWN_ACTION] == 2  # learnt on the first refusal only
    # Other words stay Chamilo's own refusal, shown as they are.
    with pytest.raises(ChamiloRefused) as refused:
        api.progress(api.account("admin"), 99)
    assert type(refused.value) is ChamiloRefused
    assert refused.value.message == FRENCH["NoCourse"]


def test_a_learner_key_a_french_chamilo_refused_is_told_as_a_refused_key(chamilo):
    fake = chamilo.fake
    api = client(chamilo)
    api.create_learner(
        loginname="viatic-1", password="p", firstname="A", lastname="B", email="", original_id="1"
    )
    course = fake.add_course("Budget")
    fake.language = "french"
    with pytest.raises(InvalidApiKey) as refused:
        api.progress(Account(2, "viatic-1", "ancienne-cle"), course.id)
    assert refused.value.message == FRENCH["InvalidApiKey"]


def test_a_call_without_key_gets_an_empty_500_which_is_an_outage(chamilo):
    response = requests.post(f"{chamilo.url}/main/webservices/api/v2.php", data={"action": "x"})
    assert (response.status_code, response.text) == (500, "")
    with pytest.raises(ConnectorUnavailable) as error:
        client(chamilo, api_key="").courses()  # a key lost on our side: none is sent
    assert error.value.status == 500


def test_handled_errors_come_with_http_200(chamilo):
    response = requests.post(
        f"{chamilo.url}/main/webservices/api/v2.php",
        data={"action": "get_courses", "username": "admin", "api_key": "faux"},
    )
    assert response.status_code == 200
    assert response.json() == {"error": True, "message": "InvalidApiKey"}


def test_a_page_that_is_not_chamilo_is_told_apart(chamilo):
    chamilo.fake.mode = "garbage"
    with pytest.raises(NotChamilo):
        client(chamilo).courses()


def test_a_url_without_chamilo_is_rejected(chamilo):
    api = ChamiloClient(f"{chamilo.url}/ailleurs", "admin", "x", retries=0)
    with pytest.raises(Exception) as error:
        api.courses()
    assert getattr(error.value, "status", None) == 404


def test_chamilo_down_is_an_outage_after_the_retries_of_a_read(chamilo):
    chamilo.fake.mode = "down"
    with pytest.raises(ConnectorUnavailable):
        client(chamilo, retries=2, backoff=0.001).courses()
    assert chamilo.fake.requests["authenticate"] == 3


def test_a_slow_chamilo_times_out(chamilo):
    chamilo.fake.mode, chamilo.fake.delay = "slow", 1.0
    with pytest.raises(ConnectorUnavailable) as error:
        client(chamilo, timeout=(1.0, 0.2)).courses()
    assert "timed out" in error.value.message


def test_a_learner_key_refused_is_left_to_the_caller(chamilo):
    api = client(chamilo)
    api.create_learner(
        loginname="viatic-1", password="p", firstname="A", lastname="B", email="", original_id="1"
    )
    course = chamilo.fake.add_course("Budget")
    stale = Account(2, "viatic-1", "ancienne-cle")
    with pytest.raises(ChamiloRefused) as refused:
        api.progress(stale, course.id)
    assert refused.value.message == "InvalidApiKey"


def test_save_course_prefixes_the_code_with_the_campus_unless_told_not_to(chamilo):
    api = client(chamilo)
    made = api.call("save_course", {"title": "Voirie", "wanted_code": "VOIRIE", "id_campus": 2})
    assert (made["code_course"], made["title_course"]) == ("CAMPUS_2_VOIRIE", "Voirie")
    kept = api.call(
        "save_course",
        {"title": "Écoles", "wanted_code": "ECOLES", "remove_campus_id_from_wanted_code": 1},
    )
    assert kept["code_course"] == "ECOLES"
    assert [c.code for c in api.courses()] == ["CAMPUS_2_VOIRIE", "ECOLES"]


def test_json_without_chamilos_envelope_is_told_apart(chamilo):
    chamilo.fake.app.view_functions["v2"] = lambda: {"courses": []}
    with pytest.raises(NotChamilo):
        client(chamilo).courses()
