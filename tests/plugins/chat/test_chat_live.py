"""Live delivery over real HTTP: Server-Sent Events from the in-process hub (one server),
then across two gunicorn processes sharing PostgreSQL and the real Redis; a client that
drops and reconnects with Last-Event-ID gets exactly what it missed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from core.testing import unavailable
from tests.plugins.chat.helpers import general_id
from tests.plugins.chat.live_helpers import (
    CSRF,
    MENTIONED,
    EventStream,
    api_post,
    mailed,
    say_away,
    signed_in,
    start_direct,
    wait_until_present,
)

sqlite_only = pytest.mark.parametrize("database_backend", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize("database_backend", ["postgresql"], indirect=True)


def stream_url(base: str, channel_id: int) -> str:
    return f"{base}/c/10145/chat/salon/{channel_id}/flux"


@sqlite_only
def test_a_message_reaches_an_open_stream_and_a_reconnection_gets_what_it_missed(
    app, village, live_server
):
    general = general_id(app)
    reader = signed_in(live_server, village.agent.email)
    writer = signed_in(live_server, village.maire.email)
    stream = EventStream(reader, stream_url(live_server, general))
    first = api_post(writer, live_server, general, "Premier **message**")
    event = stream.next_of("posted")
    assert (event.id, event.event) == ("1", "posted")
    assert f'id="m{first["id"]}"' in event.data and "<strong>message</strong>" in event.data
    stream.close()

    api_post(writer, live_server, general, "Deuxième")
    api_post(writer, live_server, general, "Troisième")
    resumed = EventStream(reader, stream_url(live_server, general), last_event_id="1")
    missed = [resumed.next_of("posted") for _ in range(2)]
    assert [e.id for e in missed] == ["2", "3"]
    assert "Deuxième" in missed[0].data and "Troisième" in missed[1].data
    api_post(writer, live_server, general, "Quatrième")
    assert resumed.next_of("posted").id == "4"  # nothing sent twice in between
    resumed.close()


@sqlite_only
def test_a_client_further_behind_than_one_replay_gets_every_message_it_missed(
    app, village, live_server
):
    from core.db import db
    from core.models import Commune, User
    from plugins.chat import services
    from plugins.chat.models import Channel

    general = general_id(app)
    missed = services.REPLAY_LIMIT + 3
    with app.test_request_context():
        commune = db.get(Commune, village.commune.id)
        maire = db.get(User, village.maire.id)
        channel = db.get(Channel, general)
        for n in range(1, missed + 1):
            services.post_message(commune, maire, channel, f"Message {n}")
        services.commit()
    reader = signed_in(live_server, village.agent.email)
    writer = signed_in(live_server, village.maire.email)
    stream = EventStream(reader, stream_url(live_server, general), last_event_id="0")
    first_part = [stream.next_of("posted") for _ in range(services.REPLAY_LIMIT)]
    assert [int(e.id) for e in first_part] == list(range(1, services.REPLAY_LIMIT + 1))
    assert "Message 1<" in first_part[0].data
    api_post(writer, live_server, general, "Pendant le rattrapage")
    with pytest.raises(EOFError):  # the stream ends after one replay, for the browser to resume
        stream.next_of("posted")
    stream.close()

    resumed = EventStream(reader, stream_url(live_server, general), last_event_id=first_part[-1].id)
    rest = [resumed.next_of("posted") for _ in range(missed + 1 - services.REPLAY_LIMIT)]
    assert [int(e.id) for e in rest] == list(range(services.REPLAY_LIMIT + 1, missed + 2))
    assert f"Message {missed}<" in rest[-2].data and "Pendant le rattrapage" in rest[-1].data
    api_post(writer, live_server, general, "Et maintenant en direct")
    live_one = resumed.next_of("posted")
    assert int(live_one.id) == missed + 2 and "en direct" in live_one.data
    resumed.close()


@sqlite_only
def test_a_reaction_reaches_the_open_streams_with_who_reacted(app, village, live_server):
    general = general_id(app)
    writer = signed_in(live_server, village.maire.email)
    reader = signed_in(live_server, village.agent.email)
    message = api_post(writer, live_server, general, "On valide le devis ?")
    stream = EventStream(reader, stream_url(live_server, general), last_event_id="1")
    token = CSRF.search(writer.get(f"{live_server}/c/10145/chat/", timeout=30).text).group(1)
    answer = writer.post(
        f"{live_server}/api/v1/c/10145/chat/messages/{message['id']}/reactions",
        json={"emoji": "ok"},
        headers={"X-CSRFToken": token},
        timeout=30,
    )
    assert answer.status_code == 200
    event = stream.next_of("reacted", "posted")
    assert (event.id, event.event) == ("2", "reacted")
    assert f'id="m{message["id"]}"' in event.data
    assert "Claire Martin" in event.data and f'data-by="{village.maire.id}"' in event.data
    stream.close()


@sqlite_only
def test_a_stream_tells_of_unread_messages_in_the_persons_other_channels(app, village, live_server):
    general = general_id(app)
    maire = signed_in(live_server, village.maire.email)
    direct = start_direct(maire, live_server, village.agent.id)
    agent = signed_in(live_server, village.agent.email)
    stream = EventStream(agent, stream_url(live_server, general))
    api_post(maire, live_server, direct, "Un mot rien que pour vous")
    event = stream.next_of("unread", "posted")
    assert (event.event, event.data) == ("unread", f'{{"channel": {direct}}}')
    stream.close()


# --- Two gunicorn processes and Redis ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    database_url: str, redis_url: str, prefix: str, log: Path
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "VIATIC_DATABASE_URL": database_url,
        "VIATIC_REDIS_URL": redis_url,
        "VIATIC_REDIS_PREFIX": prefix,
        "VIATIC_SECRET_KEY": "secret-for-tests-only",
        "VIATIC_TESTING": "true",  # cookies without the Secure flag, over plain HTTP
        "VIATIC_ADMIN_TOTP_REQUIRED": "false",
        "VIATIC_ARGON2_PROFILE": "CHEAPEST",
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--workers",
            "1",
            "--worker-class",
            "gevent",  # as the README advises for production
            "--graceful-timeout",
            "2",  # open streams do not hold the stop
            "--bind",
            f"127.0.0.1:{port}",
            "core.wsgi:app",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {log.read_text()[-2000:]}")
        try:
            requests.get(f"{base}/accessibilite", timeout=10)
            return process, base
        except requests.RequestException:  # not listening yet, or still building the app
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"gunicorn did not answer: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def redis_url() -> str:
    import redis

    url = os.environ.get("VIATIC_TEST_REDIS_URL")
    if not url:
        unavailable("Redis tests need VIATIC_TEST_REDIS_URL")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable: {type(exc).__name__}")
    return url


@dataclass
class Workers:
    """Two gunicorn processes serving the same database, sharing Redis under ``prefix``."""

    one: str
    two: str
    redis_url: str
    prefix: str


@pytest.fixture
def two_workers(app, redis_url, tmp_path) -> Iterator[Workers]:
    prefix = f"viatic-test-chat-{uuid.uuid4().hex[:8]}:"
    database_url = app.config["DATABASE_URL"]
    servers = []
    try:
        for n in (1, 2):  # one by one, so that a failed start still stops the first
            servers.append(
                start_gunicorn(database_url, redis_url, prefix, tmp_path / f"gunicorn-{n}.log")
            )
        (first, one), (second, two) = servers
        assert first.pid != second.pid
        yield Workers(one, two, redis_url, prefix)
    finally:
        for process, _base in servers:
            stop(process)


@pytest.mark.slow
@postgresql_only
def test_two_gunicorn_workers_share_the_live_stream_through_redis(app, village, two_workers):
    general = general_id(app)
    one, two = two_workers.one, two_workers.two
    writer = signed_in(one, village.maire.email)
    reader = signed_in(two, village.agent.email)

    stream = EventStream(reader, stream_url(two, general))
    api_post(writer, one, general, "Posté sur le premier, lu sur le second")
    event = stream.next_of("posted")
    assert event.id == "1" and "Posté sur le premier" in event.data
    stream.close()

    api_post(writer, one, general, "Pendant la coupure, 1")
    api_post(writer, two, general, "Pendant la coupure, 2")
    resumed = EventStream(reader, stream_url(two, general), last_event_id="1")
    missed = [resumed.next_of("posted") for _ in range(2)]
    assert [e.id for e in missed] == ["2", "3"]
    assert "coupure, 1" in missed[0].data and "coupure, 2" in missed[1].data
    api_post(writer, one, general, "Après")
    after = resumed.next_of("posted")
    assert after.id == "4" and "Après" in after.data
    resumed.close()


def notifications_page(session: requests.Session, base: str) -> str:
    answer = session.get(f"{base}/compte/notifications", timeout=30)
    assert answer.status_code == 200
    return answer.text


@sqlite_only
def test_a_person_following_a_direct_conversation_live_is_not_notified(app, village, live_server):
    maire = signed_in(live_server, village.maire.email)
    direct = start_direct(maire, live_server, village.agent.id)
    agent = signed_in(live_server, village.agent.email)
    stream = EventStream(agent, stream_url(live_server, direct))
    wait_until_present(app, direct, village.agent.id)
    api_post(maire, live_server, direct, "@julie.morel vous êtes là ?")
    assert stream.next_of("posted").id == "1"
    stream.close()
    # Neither as a direct message nor as a mention: she read it as it came.
    assert "Claire Martin" not in notifications_page(agent, live_server)
    assert mailed(app, village.agent) == []


@sqlite_only
def test_a_mention_notifies_only_the_people_not_reading_the_channel_live(app, village, live_server):
    general = general_id(app)
    maire = signed_in(live_server, village.maire.email)
    elsewhere = start_direct(maire, live_server, village.conseiller.id)
    agent = signed_in(live_server, village.agent.email)
    conseiller = signed_in(live_server, village.conseiller.email)
    # Julie has the general channel open; Nadia has another conversation open.
    reading = EventStream(agent, stream_url(live_server, general))
    away = EventStream(conseiller, stream_url(live_server, elsewhere))
    wait_until_present(app, general, village.agent.id)
    wait_until_present(app, elsewhere, village.conseiller.id)
    api_post(maire, live_server, general, "@julie.morel @nadia.benali la salle est prête ?")
    assert "la salle est prête" in reading.next_of("posted").data
    assert away.next_of("unread").data == f'{{"channel": {general}}}'
    reading.close()
    away.close()

    assert MENTIONED in notifications_page(conseiller, live_server)
    assert mailed(app, village.conseiller) == [MENTIONED]
    assert MENTIONED not in notifications_page(agent, live_server)
    assert mailed(app, village.agent) == []


@sqlite_only
def test_a_page_out_of_view_ends_its_stream_and_its_reader_is_notified(app, village, live_server):
    general = general_id(app)
    maire = signed_in(live_server, village.maire.email)
    agent = signed_in(live_server, village.agent.email)
    # Julie has the general channel open in two tabs.
    hidden = EventStream(agent, f"{stream_url(live_server, general)}?onglet=onglet-cache-1")
    shown = EventStream(agent, f"{stream_url(live_server, general)}?onglet=onglet-visible")
    wait_until_present(app, general, village.agent.id)

    # One goes out of view: its stream ends at once; she still reads the other.
    assert say_away(agent, live_server, general, "onglet-cache-1").status_code == 204
    with pytest.raises(EOFError):
        hidden.next_event()
    api_post(maire, live_server, general, "@julie.morel première question")
    assert "première question" in shown.next_of("posted").data
    assert mailed(app, village.agent) == []

    # The other one too: she is away, and the mention tells her.
    assert say_away(agent, live_server, general, "onglet-visible").status_code == 204
    with pytest.raises(EOFError):
        shown.next_event()
    wait_until_present(app, general, village.agent.id, present=False)
    api_post(maire, live_server, general, "@julie.morel seconde question")
    assert mailed(app, village.agent) == [MENTIONED]
    assert MENTIONED in notifications_page(agent, live_server)

    # A stream's name is checked, and a channel she cannot read is none of hers.
    for wrong in ("court", "pas un nom!", 42, None):
        refused = say_away(agent, live_server, general, wrong)
        assert refused.status_code == 400, wrong
    assert "8 à 64 lettres" in say_away(agent, live_server, general, "court").text
    unnamed = agent.get(f"{stream_url(live_server, general)}?onglet=a/b", timeout=30)
    assert unnamed.status_code == 400
    other = start_direct(maire, live_server, village.conseiller.id)
    assert say_away(agent, live_server, other, "onglet-cache-1").status_code == 404


@pytest.mark.slow
@postgresql_only
def test_a_mention_of_someone_reading_live_through_another_worker_does_not_notify(
    app, village, two_workers
):
    import redis

    general = general_id(app)
    one, two = two_workers.one, two_workers.two
    agent = signed_in(two, village.agent.email)
    stream = EventStream(agent, f"{stream_url(two, general)}?onglet=onglet-de-julie")
    present = redis.Redis.from_url(two_workers.redis_url)
    key = f"{two_workers.prefix}chat:present:{general}:{village.agent.id}"
    deadline = time.monotonic() + 10
    while not present.exists(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    maire = signed_in(one, village.maire.email)
    api_post(maire, one, general, "@julie.morel @nadia.benali la salle est prête ?")
    assert "la salle est prête" in stream.next_of("posted").data

    assert MENTIONED in notifications_page(signed_in(one, village.conseiller.email), one)
    assert MENTIONED not in notifications_page(agent, two)
    assert mailed(app, village.agent) == []

    # Her page goes out of view, and says so to the other worker: the stream that the
    # second holds ends at once, her presence with it, and the next mention tells her.
    assert say_away(agent, one, general, "onglet-de-julie").status_code == 204
    with pytest.raises(EOFError):
        stream.next_event()
    assert not present.exists(key)
    api_post(maire, one, general, "@julie.morel vous revenez ?")
    assert mailed(app, village.agent) == [MENTIONED]
