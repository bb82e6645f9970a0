from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from messaging.explain import expected_next_attempt, explanation_for
from messaging.models import Message
from tuco.management.jsoncommand import JsonCommand
from tuco.timefmt import iso


class Command(JsonCommand):
    help = "Say why a message has not gone yet and when it will (or what happened to it)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("message_id")

    def handle(self, *args: Any, **options: Any) -> None:
        message = Message.objects.select_related("line").filter(pk=options["message_id"]).first()
        if message is None:
            raise CommandError(f"message {options['message_id']!r} not found")
        waiting = message.status in ("queued", "scheduled", "pending") and bool(message.queued_reason)
        data = {
            "id": message.pk,
            "status": message.status,
            "queuedReason": message.queued_reason or None,
            "nextAttemptAt": iso(expected_next_attempt(message)) if waiting else None,
            "explanation": explanation_for(message),
            "lineId": message.line_id,
            "attempts": message.attempt_count,
            "error": message.error or None,
            "errorCode": message.error_code or None,
        }
        human = f"{message.pk}: {message.status}" + (f" ({message.queued_reason})" if message.queued_reason else "")
        self.emit(options, data, f"{human}\n{data['explanation']}")
