"""iMessage availability: which of a recipient's addresses can receive iMessage, at what cost.

Every live check hits a real Mac (BlueBubbles Private API), so each line has a
hard daily budget (70 by default) and a device checks at most once every
TUCO_AVAILABILITY_GAP_SECONDS; both are reserved atomically before the call.
Results are cached per workspace + address (positive and negative, separate
lifetimes) so repeated sends spend nothing; every answer says whether it came
from the cache. Checks never touch the send quota.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from lines.capacity import _DAILY, _count_up
from lines.health import device_mark_unhealthy
from lines.models import AvailabilityResult, Device, Line, LineDailyUsage
from lines.relay.client import relay_for_device
from lines.relay.errors import line_fault_detail
from tuco.calendar import local_day, next_local_midnight
from tuco.logging import get_logger
from tuco.rotation import next_in_turn
from tuco.send_errors import SendError

log = get_logger(__name__)

# Never sleep longer than this in a worker waiting for a device's check gap.
MAX_GAP_WAIT_SECONDS = 10


@dataclass
class Check:
    address: str
    available: bool
    cached: bool
    line_id: str | None = None


@dataclass
class Outcome:
    """The first available address (or None), every address looked at, and why it stopped if it did."""

    address: str | None = None
    checks: list[Check] = field(default_factory=list)
    budget_exhausted_until: datetime | None = None
    error: SendError | None = None

    @property
    def checked_addresses(self) -> list[str]:
        return [c.address for c in self.checks]

    @property
    def decided_by_cache(self) -> bool:
        return bool(self.checks) and self.checks[-1].cached


class BudgetExhausted(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__("daily availability check quota exhausted")
        self.until = until


def _positive_ttl() -> timedelta:
    return timedelta(seconds=getattr(settings, "TUCO_AVAILABILITY_CACHE_POSITIVE_SECONDS", 30 * 24 * 3600))


def _negative_ttl() -> timedelta:
    # Short: BlueBubbles reports false negatives that fix themselves later (#699).
    return timedelta(seconds=getattr(settings, "TUCO_AVAILABILITY_CACHE_NEGATIVE_SECONDS", 24 * 3600))


def cache_get(*, workspace_id: str, address: str, now: datetime) -> bool | None:
    row = AvailabilityResult.objects.filter(workspace_id=workspace_id, address=address, expires_at__gt=now)\
        .values_list("available", flat=True).first()
    return row


def cache_put(*, workspace_id: str, address: str, available: bool, line_id: str | None, now: datetime) -> None:
    expires = now + (_positive_ttl() if available else _negative_ttl())
    # One upsert statement (every delivered iMessage lands here), not update_or_create's four.
    AvailabilityResult.objects.bulk_create(
        [AvailabilityResult(workspace_id=workspace_id, address=address, available=available, checked_at=now,
                            expires_at=expires, line_id=line_id)],
        update_conflicts=True, unique_fields=["workspace", "address"],
        update_fields=["available", "checked_at", "expires_at", "line"],
    )


def reserve_check(*, line: Line, device: Device, now: datetime) -> None:
    """Take one check from the line's daily budget and the device's check gap (waiting out a short gap)."""
    day = local_day(now, line.timezone)
    if line.availability_daily_cap < 1 or not _count_up(
            _DAILY, {"line_id": line.pk, "day": day}, {"total_count": 0, "new_count": 0, "availability_count": 1},
            {"availability_count": line.availability_daily_cap}):
        raise BudgetExhausted(next_local_midnight(now, line.timezone))
    gap = timedelta(seconds=settings.TUCO_AVAILABILITY_GAP_SECONDS)
    deadline = time.monotonic() + MAX_GAP_WAIT_SECONDS
    while True:
        moment = timezone.now()
        if Device.objects.filter(Q(last_availability_check_at__isnull=True)
                                 | Q(last_availability_check_at__lte=moment - gap), pk=device.pk)\
                .update(last_availability_check_at=moment):
            return
        last = Device.objects.values_list("last_availability_check_at", flat=True).get(pk=device.pk)
        wait = (last + gap - moment).total_seconds()
        if time.monotonic() + wait > deadline:
            raise BudgetExhausted(last + gap)  # the device is checking for others; try again shortly
        time.sleep(max(0.0, wait))


def release_check(*, line: Line, now: datetime) -> None:
    from django.db.models import F
    from django.db.models.functions import Greatest

    LineDailyUsage.objects.filter(line_id=line.pk, day=local_day(now, line.timezone)).update(
        availability_count=Greatest(F("availability_count") - 1, 0))


def check_address(*, workspace_id: str, address: str, lines: list[Line], now: datetime) -> Check:
    """One address: from the cache, or live on the first of `lines` with budget left."""
    cached = cache_get(workspace_id=workspace_id, address=address, now=now)
    if cached is not None:
        log.info("availability.cache_hit", address=address, available=cached)
        return Check(address=address, available=cached, cached=True)
    soonest: datetime | None = None
    for line in lines:
        if line.device is None:
            continue
        try:
            reserve_check(line=line, device=line.device, now=now)
        except BudgetExhausted as exhausted:
            soonest = min(soonest, exhausted.until) if soonest else exhausted.until
            continue
        try:
            available = relay_for_device(line.device, private_api=True, line_id=line.pk).check_imessage(address=address)
        except SendError as error:
            release_check(line=line, now=now)  # a failed check does not spend the budget
            if not error.line_fault:
                raise
            # This Mac cannot check (relay down, helper gone): it goes unhealthy, the next line checks.
            device_mark_unhealthy(device_id=line.device_id, reason=line_fault_detail(error))
            log.warning("availability.line_fault", lineId=line.pk, error=error.message[:300])
            if line is lines[-1]:
                raise
            continue
        cache_put(workspace_id=workspace_id, address=address, available=available, line_id=line.pk, now=now)
        log.info("availability.checked", address=address, available=available, lineId=line.pk)
        return Check(address=address, available=available, cached=False, line_id=line.pk)
    raise BudgetExhausted(soonest or next_local_midnight(now, "UTC"))


def first_available(*, workspace_id: str, addresses: list[str], lines: list[Line], now: datetime) -> Outcome:
    """Walk `addresses` in order until one is on iMessage."""
    outcome = Outcome()
    for address in addresses:
        try:
            check = check_address(workspace_id=workspace_id, address=address, lines=lines, now=now)
        except BudgetExhausted as exhausted:
            outcome.budget_exhausted_until = exhausted.until
            return outcome
        except SendError as error:
            outcome.error = error
            return outcome
        outcome.checks.append(check)
        if check.available:
            outcome.address = address
            return outcome
    return outcome


def checking_lines(*, workspace_id: str, first: Line | None = None) -> list[Line]:
    """Lines able to run a check (Private API, active, healthy), `first` leading, the rest round-robin."""
    lines = list(Line.objects.select_related("device").filter(
        workspace_id=workspace_id, is_active=True, health_status=Line.Health.HEALTHY,
        device__private_api=True).order_by("id"))
    if first is not None:
        lines = [first] + [line for line in lines if line.pk != first.pk]
    elif len(lines) > 1:
        lead = next_in_turn(f"lines:availability:{workspace_id}", lines)
        index = lines.index(lead)
        lines = lines[index:] + lines[:index]
    return lines
