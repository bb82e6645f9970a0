"""Small helpers shared by the attachment tests."""

from __future__ import annotations

from pathlib import Path


def cache_entries(media_root: Path) -> list[Path]:
    return sorted((media_root / "attachment-cache" / "lines").glob("*/*.json"))


def cache_blobs(media_root: Path) -> list[Path]:
    return sorted((media_root / "attachment-cache" / "blobs").glob("*/*"))


def upload_dirs(media_root: Path) -> list[Path]:
    """Finished uploads (the staging area `.tmp` excluded)."""
    return sorted(p for p in (media_root / "uploads").glob("*/*") if p.parent.name != ".tmp")
