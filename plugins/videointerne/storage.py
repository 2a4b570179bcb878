"""The platform's own video storage: files on the server's disk, under the folder named by
``VIATIC_VIDEO_STORAGE_PATH`` (default: ``videos/`` in the instance folder), one folder per
commune.

A file is written chunk by chunk at the offset it has reached (``<ref>.part``), so an
interrupted upload resumes where the disk says it stopped; complete, it is renamed to
``<ref>``. Its type is read from its first bytes, never from its name. The names are
random (128 bits): the address of a file is its only credential.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import IO

import filetype
from flask import current_app

COPY_BLOCK = 1024 * 1024
REF_LENGTH = 32


class StorageError(Exception):
    """The file cannot be written or read as asked."""


def root() -> Path:
    configured = current_app.config.get("VIDEO_STORAGE_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / "videos"


def valid_ref(ref: str) -> bool:
    return len(ref) == REF_LENGTH and all(c in "0123456789abcdef" for c in ref)


class Storage:
    """The files of one commune."""

    def __init__(self, insee: str) -> None:
        self.folder = root() / insee

    def path(self, ref: str) -> Path:
        if not valid_ref(ref):
            raise StorageError("not a file name of this storage")
        return self.folder / ref

    def partial(self, ref: str) -> Path:
        return self.path(ref).with_suffix(".part")

    def create(self) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        ref = secrets.token_hex(REF_LENGTH // 2)
        self.partial(ref).touch(exist_ok=False)
        return ref

    def offset(self, ref: str) -> int:
        if self.path(ref).exists():
            return self.path(ref).stat().st_size
        if self.partial(ref).exists():
            return self.partial(ref).stat().st_size
        raise StorageError("no such upload")

    def write(self, ref: str, offset: int, stream: IO[bytes], length: int, size: int) -> int:
        """Append ``length`` bytes of ``stream`` at ``offset`` (which must be where the file
        ends); the file is complete at ``size`` bytes. Bytes read before a broken stream stay
        written, as with tus."""
        part = self.partial(ref)
        if not part.exists():
            raise StorageError("no such upload")
        if offset + length > size:
            raise StorageError("more bytes than announced")
        with part.open("r+b") as file:
            file.seek(0, os.SEEK_END)
            if file.tell() != offset:
                raise StorageError(f"the file is at {file.tell()}, not at {offset}")
            left = length
            try:
                while left:
                    block = stream.read(min(COPY_BLOCK, left))
                    if not block:
                        break
                    file.write(block)
                    left -= len(block)
            finally:
                file.flush()
                reached = file.tell()
        if reached >= size:
            part.rename(self.path(ref))
        if left:
            raise StorageError(f"the stream ended after {length - left} of {length} bytes")
        return reached

    def complete(self, ref: str) -> bool:
        return self.path(ref).exists()

    def exists(self, ref: str) -> bool:
        return self.complete(ref) or self.partial(ref).exists()

    def mimetype(self, ref: str) -> str | None:
        kind = filetype.guess(str(self.path(ref)))
        return kind.mime if kind is not None and kind.mime.startswith("video/") else None

    def delete(self, ref: str) -> None:
        for path in (self.path(ref), self.partial(ref)):
            path.unlink(missing_ok=True)


def free_bytes() -> int:
    folder = root()
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free
