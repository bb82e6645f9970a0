"""Small helpers shared by the attachment tests: what the media store holds, on either backend."""

from __future__ import annotations

from tests.storage.media import Media


def cache_entries(media: Media) -> list[str]:
    return [n for n in media.names("attachment-cache/lines") if n.endswith(".json")]


def cache_blobs(media: Media) -> list[str]:
    return [n for n in media.names("attachment-cache/blobs") if not n.rsplit("/", 1)[-1].startswith(".")]


def upload_dirs(media: Media) -> list[str]:
    """Finished uploads ("<workspaceId>/<token>", those with their meta.json; not in the trash)."""
    return sorted(n.split("/", 1)[1].rsplit("/", 1)[0] for n in media.names("uploads")
                  if n.endswith("/meta.json") and not n.split("/")[1].startswith("."))


def stored_files(media: Media) -> list[str]:
    """Every object of the upload store: nothing may be left behind by a refused upload."""
    return media.names("uploads")


def leftovers(media: Media) -> list[str]:
    """Objects of the upload store that belong to no finished upload (bytes of a refused one, staging)."""
    finished = set(upload_dirs(media))
    return [n for n in media.names("uploads") if n.split("/", 1)[1].rsplit("/", 1)[0] not in finished]
