"""Beat schedule, declared in code. django-celery-beat's DatabaseScheduler upserts these
entries by name at start-up (history such as last_run_at survives)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings


def beat_schedule() -> dict[str, dict[str, Any]]:
    sweep = timedelta(seconds=settings.TUCO_SWEEP_INTERVAL_SECONDS)
    disk = timedelta(seconds=settings.TUCO_DISK_PRUNE_INTERVAL_SECONDS)
    return {
        "tuco.sweep-due-messages": {"task": "messaging.tasks.sweep_due_messages", "schedule": sweep},
        "tuco.sweep-campaigns": {"task": "campaigns.tasks.sweep_campaigns", "schedule": sweep},
        "tuco.sweep-fallbacks": {"task": "messaging.tasks.sweep_fallbacks", "schedule": sweep},
        "tuco.sweep-stuck-sending": {"task": "messaging.tasks.sweep_stuck_sending", "schedule": sweep},
        "tuco.check-lines-health": {"task": "messaging.tasks.check_lines_health",
                                    "schedule": timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS)},
        "tuco.reconcile-receipts": {"task": "messaging.tasks.reconcile_receipts", "schedule": timedelta(seconds=60)},
        "tuco.purge-expired": {"task": "messaging.tasks.purge_expired", "schedule": timedelta(minutes=10)},
        "tuco.deliver-due-webhooks": {"task": "tuco.webhooks.tasks.deliver_due_webhooks", "schedule": sweep},
        "tuco.prune-attachment-cache": {"task": "messaging.attachments.tasks.prune_attachment_cache",
                                        "schedule": disk},
        "tuco.prune-uploads": {"task": "messaging.attachments.tasks.prune_uploads", "schedule": disk},
    }
