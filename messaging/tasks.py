"""Celery tasks: thin shells (ids in, a service call, Celery concerns only)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def dispatch_message(message_id: str) -> None:
    from messaging.sending import send_message

    send_message(message_id)
