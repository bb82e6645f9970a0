"""Write paths for devices and lines."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from lines.models import Device, Line
from tuco.addresses import InvalidAddress, normalize_email, normalize_phone
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)


class LineConfigError(ValueError):
    pass


@dataclass
class LineSpec:
    phone: str = ""
    email: str = ""
    channel: str = Line.Channel.PHONE
    relay_url: str = ""
    relay_password: str = ""
    private_api: bool = False
    daily_total: int | None = None
    daily_new: int | None = None
    hourly_first_touch: int | None = None
    timezone: str = "UTC"
    device_gap_seconds: int | None = None
    contact_gap_seconds: int | None = None
    first_name: str = ""
    last_name: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_use_tls: bool = False
    smtp_use_ssl: bool = False


def _validate(spec: LineSpec) -> LineSpec:
    try:
        if spec.phone:
            spec.phone = normalize_phone(spec.phone)
        if spec.email:
            spec.email = normalize_email(spec.email)
    except InvalidAddress as exc:
        raise LineConfigError(str(exc)) from exc
    try:
        zoneinfo.ZoneInfo(spec.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise LineConfigError(f"unknown timezone {spec.timezone!r}") from exc
    if spec.channel == Line.Channel.PHONE:
        if not spec.phone:
            raise LineConfigError("a phone line needs --phone")
        parts = urlsplit(spec.relay_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise LineConfigError("--relay-url must be an http(s) URL")
        if not spec.relay_password:
            raise LineConfigError("--relay-password is required")
    elif spec.channel == Line.Channel.EMAIL:
        if not spec.email or not spec.smtp_host:
            raise LineConfigError("an email line needs --email and --smtp-host")
    else:
        raise LineConfigError(f"unknown channel {spec.channel!r}")
    return spec


def device_for_relay(*, workspace: Workspace, relay_url: str, relay_password: str, private_api: bool,
                     device_gap_seconds: int | None) -> Device:
    """One relay server is one Mac: lines with the same relay URL share its device (and gap)."""
    device, created = Device.objects.get_or_create(
        workspace=workspace, relay_url=relay_url.rstrip("/"),
        defaults={"relay_password": relay_password, "private_api": private_api},
    )
    updates: dict[str, object] = {}
    if not created:
        if device.relay_password != relay_password:
            updates["relay_password"] = relay_password
        if private_api and not device.private_api:
            updates["private_api"] = True
    if device_gap_seconds is not None and device.device_gap_seconds != device_gap_seconds:
        updates["device_gap_seconds"] = device_gap_seconds
    if updates:
        for key, value in updates.items():
            setattr(device, key, value)
        device.save(update_fields=[*updates.keys(), "updated_at"])
    return device


def line_add(*, workspace: Workspace, spec: LineSpec) -> Line:
    spec = _validate(spec)
    with transaction.atomic():
        device = None
        if spec.channel == Line.Channel.PHONE:
            device = device_for_relay(workspace=workspace, relay_url=spec.relay_url,
                                      relay_password=spec.relay_password, private_api=spec.private_api,
                                      device_gap_seconds=spec.device_gap_seconds)
        line = Line(workspace=workspace, device=device, channel_type=spec.channel, phone=spec.phone,
                    email=spec.email, first_name=spec.first_name, last_name=spec.last_name,
                    timezone=spec.timezone, smtp_host=spec.smtp_host, smtp_port=spec.smtp_port,
                    smtp_username=spec.smtp_username, smtp_password=spec.smtp_password,
                    smtp_use_tls=spec.smtp_use_tls, smtp_use_ssl=spec.smtp_use_ssl)
        if spec.daily_total is not None:
            line.daily_total_limit = spec.daily_total
        if spec.daily_new is not None:
            line.daily_new_limit = spec.daily_new
        if spec.hourly_first_touch is not None:
            line.hourly_first_touch_limit = spec.hourly_first_touch
        if spec.contact_gap_seconds is not None:
            line.contact_gap_seconds = spec.contact_gap_seconds
        line.save()
    log.info("line.added", lineId=line.pk, deviceId=device.pk if device else None, workspaceId=workspace.pk)
    return line


def line_mark_unhealthy(*, line_id: str, reason: str) -> bool:
    changed = Line.objects.filter(pk=line_id).exclude(health_status=Line.Health.UNHEALTHY, health_reason=reason)\
        .update(health_status=Line.Health.UNHEALTHY, health_reason=reason[:500], health_checked_at=timezone.now())
    if changed:
        log.warning("line.unhealthy", lineId=line_id, reason=reason)
    return bool(changed)


def line_mark_healthy(*, line_id: str) -> bool:
    changed = Line.objects.filter(pk=line_id, health_status=Line.Health.UNHEALTHY).update(
        health_status=Line.Health.HEALTHY, health_reason="", health_checked_at=timezone.now())
    Line.objects.filter(pk=line_id).update(health_checked_at=timezone.now())
    if changed:
        log.info("line.healthy", lineId=line_id)
    return bool(changed)
