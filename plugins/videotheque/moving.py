"""Moving a commune's videos to another provider (from Vimeo to the platform's own disk),
one by one, resumable: ``viatic videotheque deplacer 10145`` (hook ``viatic_cli_group``).

Each video is read from the provider that holds it and written to the target in chunks;
the copy's progress is the target's own offset, so a run stopped half-way (or a provider
down for a while) resumes where the bytes stopped. Once the copy is whole the video switches
over (``Video.provider``) in one commit; the original stays where it was until someone
deletes it there. Already moved videos are skipped, so running it again is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click
from sqlalchemy import select

from core import toolkit
from plugins.videotheque import services
from plugins.videotheque.models import READY, Video


@dataclass
class Report:
    moved: int = 0
    failed: int = 0


def move_video(video: Video, target: toolkit.VideoProvider) -> None:
    """Copy ``video`` to ``target`` (resuming a copy begun before), then switch it over."""
    source = services.provider_of(video)
    upload, offset = None, 0
    if video.move_provider == target.name and video.move_ref:
        upload = toolkit.VideoUpload(video.move_ref, video.move_resume or "")
        offset = target.upload_offset(upload)
    stream, size = source.open_file(video.provider_ref, offset)
    try:  # the stream holds a connection to the source: closed whatever happens
        if upload is None:
            upload = target.start_upload(size, video.title, video.description)
            video.move_provider, video.move_ref, video.move_resume = (
                target.name,
                upload.ref,
                upload.resume,
            )
            toolkit.db.commit()  # remembered before the first byte, to resume this very copy
        while offset < size:
            length = min(services.CHUNK_BYTES, size - offset)
            offset = target.upload_chunk(upload, offset, stream, length)
    finally:
        stream.close()
    if video.captions_vtt:
        target.attach_captions(upload.ref, video.captions_vtt.encode(), video.captions_language)
    if target.state(upload.ref) != toolkit.VIDEO_READY:
        raise toolkit.CapabilityUnavailable(f"{target.name} does not hold the copy whole yet")
    before = video.provider
    video.provider, video.provider_ref = target.name, upload.ref
    video.move_provider = video.move_ref = video.move_resume = None
    services.audit_move(video, before)
    toolkit.db.commit()


def move_commune(
    commune: toolkit.Commune, target_name: str, echo: Callable[[str], None] = print
) -> Report:
    """Move every playable video of ``commune`` held elsewhere than ``target_name``."""
    target = toolkit.capability(commune, "video", provider=target_name)
    report = Report()
    videos = toolkit.db.scalars(
        select(Video)
        .where(
            Video.commune_id == commune.id,
            Video.provider != target_name,
            Video.status == READY,
        )
        .order_by(Video.id)
    ).all()
    for video in videos:
        try:
            move_video(video, target)
        except toolkit.CapabilityUnavailable as exc:
            toolkit.db.rollback()
            report.failed += 1
            echo(f"  {video.id} « {video.title} » : pas encore ({exc}) ; relancez la commande.")
            continue
        report.moved += 1
        echo(f"  {video.id} « {video.title} » : déplacée vers {target_name}.")
    return report


@click.group("videotheque", help="Vidéothèque : les témoignages vidéo des communes.")
def group() -> None:
    pass


@group.command(
    "deplacer",
    help="Copie les vidéos de la commune INSEE (son code INSEE, par exemple 10145) vers un "
    "autre hébergeur, une à une, puis les y bascule : chaque vidéo continue d'être lue "
    "pendant sa copie. Une copie interrompue reprend là où elle s'était arrêtée quand on "
    "relance la commande ; les vidéos déjà déplacées ne sont pas recopiées. L'hébergeur qui "
    "reçoit les vidéos doit être activé pour la commune.",
)
@click.argument("insee")
@click.option(
    "--vers",
    "target",
    default="videointerne",
    show_default=True,
    help="Le module qui reçoit les vidéos (videointerne : l'hébergement de la plateforme).",
)
def move_command(insee: str, target: str) -> None:
    commune = toolkit.db.scalar(select(toolkit.Commune).where(toolkit.Commune.insee == insee))
    if commune is None:
        raise click.ClickException(f"Commune inconnue : {insee}.")
    try:
        report = move_commune(commune, target, echo=click.echo)
    except toolkit.CapabilityUnavailable as exc:
        raise click.ClickException(
            f"« {target} » n'est pas activé pour cette commune ou ne répond pas ({exc})."
        ) from None
    click.echo(f"{report.moved} vidéo(s) déplacée(s), {report.failed} à reprendre.")
    if report.failed:
        raise SystemExit(1)
