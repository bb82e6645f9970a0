from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from lines.models import Line
from lines.services import LineConfigError, LineSpec, line_add
from tuco.management.jsoncommand import JsonCommand, workspace_or_error


class Command(JsonCommand):
    help = ("Add a line (and its device: one relay URL = one Mac) to a workspace, and register the "
            "line's webhook with the relay.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--phone", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--channel", default="phone", choices=["phone", "email"])
        parser.add_argument("--relay-url", default="")
        parser.add_argument("--relay-password", default="")
        parser.add_argument("--private-api", action="store_true")
        parser.add_argument("--daily-total", type=int)
        parser.add_argument("--daily-new", type=int)
        parser.add_argument("--hourly-first-touch", type=int)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--device-gap-seconds", type=int)
        parser.add_argument("--contact-gap-seconds", type=int)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--smtp-host", default="")
        parser.add_argument("--smtp-port", type=int, default=587)
        parser.add_argument("--smtp-username", default="")
        parser.add_argument("--smtp-password", default="")
        parser.add_argument("--smtp-tls", action="store_true")
        parser.add_argument("--smtp-ssl", action="store_true")
        parser.add_argument("--no-register-webhook", action="store_true",
                            help="Do not register the inbound webhook with the relay now.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_or_error(options["workspace"])
        spec = LineSpec(
            phone=options["phone"], email=options["email"], channel=options["channel"],
            relay_url=options["relay_url"], relay_password=options["relay_password"],
            private_api=options["private_api"], daily_total=options["daily_total"], daily_new=options["daily_new"],
            hourly_first_touch=options["hourly_first_touch"], timezone=options["timezone"],
            device_gap_seconds=options["device_gap_seconds"], contact_gap_seconds=options["contact_gap_seconds"],
            first_name=options["first_name"], last_name=options["last_name"], smtp_host=options["smtp_host"],
            smtp_port=options["smtp_port"], smtp_username=options["smtp_username"],
            smtp_password=options["smtp_password"], smtp_use_tls=options["smtp_tls"],
            smtp_use_ssl=options["smtp_ssl"],
        )
        try:
            line = line_add(workspace=workspace, spec=spec)
        except LineConfigError as exc:
            raise CommandError(str(exc)) from exc
        webhook = None
        if line.channel_type == Line.Channel.PHONE and not options["no_register_webhook"]:
            from lines.relay.registration import relay_webhook_register

            webhook = relay_webhook_register(line=line)
        if line.channel_type == Line.Channel.EMAIL:
            from messaging.inbound.email import inbound_email_url

            url = inbound_email_url(line)
            self.emit(options, {"id": line.pk, "deviceId": None, "inboundEmailUrl": url},
                      f"Added email line {line} ({line.pk}); point its inbound mail (raw MIME) at {url}")
            return
        self.emit(options, {"id": line.pk, "deviceId": line.device_id, "webhookRegistered": webhook},
                  f"Added line {line} ({line.pk}) on device {line.device_id}; webhook registered: {webhook}")
