"""The Vimeo connector against the fake Vimeo over loopback: tus upload (interrupted and
resumed from the offset), transcoding followed to the end, embed restricted to a domain,
captions, paging, the rate limit with both reset formats (a 429 retried, a window used up
waited for before calling), both error shapes, Vimeo down."""

from __future__ import annotations

import io
import time

import pytest

from connectors.http import BREAKERS, ConnectorRejected, ConnectorUnavailable, RateLimited
from connectors.vimeo import Account, UploadGone, VimeoClient, VimeoRejected
from tests.plugins.videotheque.fake_vimeo import FakeVimeo

VIDEO = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture(autouse=True)
def _fresh_breakers():
    BREAKERS.clear()
    yield
    BREAKERS.clear()


def client_of(fake: FakeVimeo, waits: list[float] | None = None, **kwargs) -> VimeoClient:
    sleep = waits.append if waits is not None else (lambda _s: None)
    return VimeoClient(fake.token, base_url=fake.base_url, sleep=sleep, **kwargs)


@pytest.mark.parametrize("created_status", [200, 201])
def test_a_video_is_uploaded_with_tus_and_followed_until_transcoded(fake_vimeo, created_status):
    fake_vimeo.created_status = created_status
    vimeo = client_of(fake_vimeo)
    upload = vimeo.create_upload(len(VIDEO), "Le marché couvert", "Témoignage du maire")
    assert upload.upload_link.startswith(fake_vimeo.base_url + "/tus/")
    offset = 0
    stream = io.BytesIO(VIDEO)
    while offset < len(VIDEO):
        length = min(300_000, len(VIDEO) - offset)
        offset = vimeo.upload_chunk(upload.upload_link, offset, stream, length)
    assert bytes(fake_vimeo.videos[upload.video_id].data) == VIDEO
    assert vimeo.upload_offset(upload.upload_link) == (len(VIDEO), len(VIDEO))

    state = vimeo.state(upload.video_id)
    assert state.upload_status == "complete" and not state.ready
    fake_vimeo.advance(upload.video_id)
    assert vimeo.state(upload.video_id).status == "transcoding"
    fake_vimeo.advance(upload.video_id)
    final = vimeo.state(upload.video_id)
    assert final.ready and final.transcode_status == "complete"
    assert fake_vimeo.videos[upload.video_id].name == "Le marché couvert"


def test_an_interrupted_upload_resumes_from_the_offset_vimeo_kept(fake_vimeo):
    vimeo = client_of(fake_vimeo)
    upload = vimeo.create_upload(len(VIDEO), "Coupure")

    class Dropping(io.BytesIO):
        """The browser's connection breaks after 400 000 bytes."""

        def read(self, size=-1):
            if self.tell() >= 400_000:
                raise ConnectionResetError("the browser went away")
            return super().read(min(size, 400_000 - self.tell()))

    with pytest.raises(ConnectorUnavailable):
        vimeo.upload_chunk(upload.upload_link, 0, Dropping(VIDEO), len(VIDEO))
    # The client gives up before the server has read what reached it; a resume comes later
    # than that. Once the fake holds a first byte, its PATCH holds the upload's lock, which
    # HEAD waits for.
    deadline = time.monotonic() + 5
    while not fake_vimeo.videos[upload.video_id].received and time.monotonic() < deadline:
        time.sleep(0.01)
    offset, total = vimeo.upload_offset(upload.upload_link)
    assert 0 < offset <= 400_000 and total == len(VIDEO)
    # A chunk sent at the wrong offset is refused (409), nothing is appended.
    with pytest.raises(VimeoRejected) as wrong:
        vimeo.upload_chunk(upload.upload_link, 0, io.BytesIO(VIDEO), 10)
    assert wrong.value.status == 409
    rest = io.BytesIO(VIDEO[offset:])
    assert vimeo.upload_chunk(upload.upload_link, offset, rest, len(VIDEO) - offset) == len(VIDEO)
    assert bytes(fake_vimeo.videos[upload.video_id].data) == VIDEO


def test_an_upload_link_that_is_gone_says_so(fake_vimeo):
    vimeo = client_of(fake_vimeo)
    upload = vimeo.create_upload(10, "Disparue")
    fake_vimeo.remove(upload.video_id)
    with pytest.raises(UploadGone):
        vimeo.upload_offset(upload.upload_link)


@pytest.mark.parametrize("reset", ["iso", "unix"])
def test_a_429_is_retried_after_the_reset_whatever_its_format(fake_vimeo, reset):
    waits: list[float] = []
    vimeo = client_of(fake_vimeo, waits)
    fake_vimeo.rate_limit(1, reset=reset)
    upload = vimeo.create_upload(10, "Après l'attente")  # a POST: retried too, nothing was done
    assert upload.video_id in fake_vimeo.videos and len(fake_vimeo.videos) == 1
    assert len(waits) == 1 and 0 < waits[0] <= 3
    fake_vimeo.rate_limit(1, reset=reset)
    assert vimeo.state(upload.video_id).status == "uploading"
    assert len(waits) == 2 and 0 < waits[1] <= 3


@pytest.mark.parametrize("reset", ["iso", "unix"])
def test_a_window_used_up_is_waited_out_before_the_next_call(fake_vimeo, reset):
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    video_id = fake_vimeo.add_video("La dernière de la fenêtre")
    fake_vimeo.exhaust(1, reset=reset)
    assert VimeoClient(fake_vimeo.token, base_url=fake_vimeo.base_url, sleep=sleep).state(video_id)
    assert waits == []
    # The next client of the account (the next page, say) waits for the reset announced,
    # rather than earning a 429.
    again = VimeoClient(fake_vimeo.token, base_url=fake_vimeo.base_url, sleep=sleep)
    assert again.state(video_id).ready
    assert len(waits) == 1 and 0 < waits[0] <= 3
    assert 429 not in [exchange.status for exchange in fake_vimeo.exchanges]


def test_a_window_used_up_for_longer_than_allowed_fails_without_calling(fake_vimeo):
    video_id = fake_vimeo.add_video("Trop tard")
    fake_vimeo.exhaust(30)
    vimeo = client_of(fake_vimeo, max_wait=5.0)
    vimeo.state(video_id)
    calls = len(fake_vimeo.accepts)
    with pytest.raises(RateLimited) as limited:
        vimeo.create_upload(10, "Pas maintenant")
    assert limited.value.retry_after > 5.0
    assert len(fake_vimeo.accepts) == calls and len(fake_vimeo.videos) == 1


def test_the_upload_host_is_outside_the_api_window(fake_vimeo):
    waits: list[float] = []
    vimeo = client_of(fake_vimeo, waits)
    fake_vimeo.exhaust(30)
    upload = vimeo.create_upload(len(VIDEO), "Envoyée quand même")  # the window's last call
    assert vimeo.upload_chunk(upload.upload_link, 0, io.BytesIO(VIDEO), len(VIDEO)) == len(VIDEO)
    assert vimeo.upload_offset(upload.upload_link) == (len(VIDEO), len(VIDEO))
    assert waits == []


def test_a_reset_further_than_allowed_is_not_waited_for(fake_vimeo):
    vimeo = client_of(fake_vimeo, max_wait=1.0)
    fake_vimeo.rate_limit(5)
    with pytest.raises(RateLimited) as limited:
        vimeo.create_upload(10, "Trop tôt")
    assert limited.value.retry_after > 1.0
    assert fake_vimeo.videos == {}


def test_both_error_shapes_are_read(fake_vimeo):
    vimeo = client_of(fake_vimeo)
    fake_vimeo.refuse_next(400, "error")
    with pytest.raises(VimeoRejected) as new_shape:
        vimeo.create_upload(10, "Refusée")
    assert new_shape.value.error_code == 2204 and new_shape.value.status == 400
    assert "The request was refused." in new_shape.value.message
    upload = vimeo.create_upload(10, "Acceptée")
    fake_vimeo.refuse_next(403, "legacy")
    with pytest.raises(VimeoRejected) as legacy:
        vimeo.restrict_embed(upload.video_id, "portail.example.fr")
    assert legacy.value.error_code is None and legacy.value.error == "The request was refused."


def test_the_account_and_scopes_of_a_token_are_read_and_a_bad_token_is_refused(fake_vimeo):
    fake_vimeo.scopes = {"public", "upload"}
    account = client_of(fake_vimeo).account(timeout=(2, 5))
    assert account == Account("Mairie de Faux-Villecerf", frozenset({"public", "upload"}))
    bad = VimeoClient("faux", base_url=fake_vimeo.base_url, sleep=lambda _s: None)
    with pytest.raises(ConnectorRejected) as unknown:
        bad.account(timeout=(2, 5))
    assert unknown.value.status == 401
    with pytest.raises(VimeoRejected) as refused:
        bad.create_upload(10, "Sans droit")
    assert refused.value.error_code == 8000


def test_vimeo_down_during_an_upload_is_unavailable_not_a_crash(fake_vimeo):
    vimeo = client_of(fake_vimeo)
    upload = vimeo.create_upload(len(VIDEO), "Panne")
    vimeo.upload_chunk(upload.upload_link, 0, io.BytesIO(VIDEO), 1000)
    fake_vimeo.down = True
    with pytest.raises(ConnectorUnavailable):
        vimeo.upload_chunk(upload.upload_link, 1000, io.BytesIO(VIDEO[1000:]), 1000)
    with pytest.raises(ConnectorUnavailable):
        vimeo.state(upload.video_id)
    fake_vimeo.down = False
    BREAKERS.clear()
    assert vimeo.upload_offset(upload.upload_link) == (1000, len(VIDEO))


def test_a_video_deleted_on_vimeo_reads_as_none(fake_vimeo):
    vimeo = client_of(fake_vimeo)
    video_id = fake_vimeo.add_video("Ancienne")
    assert vimeo.state(video_id).ready
    fake_vimeo.remove(video_id)
    assert vimeo.state(video_id) is None


def test_embed_is_restricted_to_the_portal_and_captions_are_uploaded(fake_vimeo):
    vimeo = client_of(fake_vimeo)
    video_id = fake_vimeo.add_video("Avec sous-titres")
    vimeo.restrict_embed(video_id, "portail.example.fr")
    assert fake_vimeo.videos[video_id].domains == ["portail.example.fr"]
    vtt = b"WEBVTT\n\n00:00.000 --> 00:02.000\nBonjour\n"
    uri = vimeo.add_captions(video_id, vtt, "fr", "Français")
    [track] = fake_vimeo.videos[video_id].texttracks
    assert track["uri"] == uri and track["content"] == vtt and track["type"] == "captions"
    vimeo.add_to_folder("77", video_id)
    vimeo.add_to_showcase("88", video_id)
    assert fake_vimeo.videos[video_id].folders == ["77"]
    assert fake_vimeo.videos[video_id].showcases == ["88"]


def test_the_listing_follows_the_pages(fake_vimeo):
    for number in range(5):
        fake_vimeo.add_video(f"Vidéo {number}")
    names = [v["name"] for v in client_of(fake_vimeo).videos(per_page=2)]
    assert names == [f"Vidéo {n}" for n in range(5)]


def test_a_fake_answer_outside_the_contract_is_caught():
    from tests.plugins.videotheque import contract
    from tests.plugins.videotheque.fake_vimeo import Exchange

    wrong = Exchange("GET", "/videos/1", "", 200, "application/vnd.vimeo.video+json", {"uri": 1})
    with pytest.raises(AssertionError):
        contract.validate_all([wrong])
