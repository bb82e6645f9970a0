"""Disk housekeeping on beat (tuco.schedule): the per-line attachment cache and the upload retention."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from messaging.attachments.cache import cache_prune
from messaging.attachments.upload_retention import uploads_prune


@shared_task(ignore_result=True)
def prune_attachment_cache() -> dict[str, Any]:
    return cache_prune().as_json()


@shared_task(ignore_result=True)
def prune_uploads() -> dict[str, Any]:
    return uploads_prune().as_json()
