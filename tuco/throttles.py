"""Per-workspace API rate limits: token buckets in Redis, shared by every web process.

Each endpoint group has a bucket per workspace (whatever the number of keys)
that holds `limit` tokens and refills `limit` per minute. The check is one Lua
script (atomic, using Redis' clock so web processes agree). A limited request
is refused before the view runs, so it changes nothing; the 429 carries
Retry-After in whole seconds.

Redis unreachable: the check fails open (the request goes on, `ratelimit.unavailable` is logged). Redis
is a cache here, not the store of record: the per-line sending caps and the duplicate guard live in
PostgreSQL, so an unlimited minute cannot send past a device's limits, while refusing every POST would
turn a Redis outage into an API outage (README "Rate limits").
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request

from tuco.errors import RateLimited
from tuco.logging import get_logger

log = get_logger(__name__)

# Requests per minute per workspace (spec errors-and-rate-limits.txt).
DEFAULT_LIMITS: dict[str, int] = {
    "send": 60,
    "availability": 200,
    "replies": 120,
    "campaigns": 200,
    "campaign_add_lead": 200,
    "unibox_reply": 30,
    "fallback_sms": 200,
    # POST /api/uploads (not in the spec's table). Each upload may write 25 MB to disk; 60/min still allows
    # one fresh attachment per send at the full send rate.
    "uploads": 60,
    # POST /api/webhooks/{id}/health-check (not in the spec's table): each one is a live outbound call of up to
    # 10 s, made in the request.
    "webhook_health_check": 10,
    # GET /api/messages/export (not in the spec's table): each one streams every matching message, up to the
    # whole history of the workspace.
    "export": 10,
}

_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {allowed, tostring(wait)}
"""

_script: Any = None
_reported_overrides: set[tuple[str, str, str]] = set()  # malformed overrides already logged by this process


def _bucket_script() -> Any:
    global _script
    client = cache._cache.get_client(write=True)  # the redis-py client behind the cache
    if _script is None or _script.registered_client is not client:  # the cache's client can be replaced
        _script = client.register_script(_BUCKET_LUA)
    return _script


def limit_for(workspace: Any, group: str) -> int:
    """The workspace's per-minute limit for `group`: its override when that is a whole number ≥ 0 (0 closes
    the group), else the default. A malformed override (set by hand in the admin's JSON) is logged once
    per process and ignored, so it cannot turn every request of the group into a 500."""
    overrides = getattr(workspace, "rate_limits", None) or {}
    if not isinstance(overrides, dict):
        _report_malformed(workspace, "*", overrides)
        return DEFAULT_LIMITS[group]
    if group not in overrides:
        return DEFAULT_LIMITS[group]
    value = overrides[group]
    limit = _whole_number(value)
    if limit is None:
        _report_malformed(workspace, group, value)
        return DEFAULT_LIMITS[group]
    return limit


def _whole_number(value: Any) -> int | None:
    """30, 30.0 and "30" are 30 (as before); booleans, negatives, NaN, lists, words are not limits."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (ValueError, OverflowError):
        return None
    return number if number >= 0 else None


def _report_malformed(workspace: Any, group: str, value: Any) -> None:
    key = (str(getattr(workspace, "pk", "")), group, repr(value)[:200])
    if key not in _reported_overrides:
        _reported_overrides.add(key)
        log.warning("ratelimit.override_invalid", workspaceId=key[0], group=group, value=key[2],
                    using="default")


def take_token(*, workspace_id: str, group: str, limit: int) -> float:
    """Spend one token. Returns 0 when allowed, else the seconds until a token is available."""
    if limit <= 0:
        return 60.0
    allowed, wait = _bucket_script()(keys=[f"tuco:bucket:{group}:{workspace_id}"], args=[limit, limit / 60.0])
    return 0.0 if int(allowed) == 1 else float(wait)


def check_rate_limit(*, workspace: Any, group: str) -> None:
    if not settings.TUCO_RATE_LIMITS_ENABLED:
        return
    limit = limit_for(workspace, group)
    try:
        wait = take_token(workspace_id=workspace.pk, group=group, limit=limit)
    except Exception as exc:  # Redis down: fail open rather than refuse every request
        log.warning("ratelimit.unavailable", group=group, error=str(exc))
        return
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        log.info("ratelimit.limited", group=group, limit=limit, retryAfter=retry_after)
        raise RateLimited(f"Rate limit exceeded: {limit} requests per minute for this endpoint group; "
                          f"retry after {retry_after}s", headers={"Retry-After": str(retry_after)})


class RateLimitedMixin:
    """APIView mixin: `rate_group` names the bucket; only `rate_methods` spend tokens."""

    rate_group: str = ""
    rate_methods: tuple[str, ...] = ("POST",)

    def check_throttles(self, request: Request) -> None:
        super().check_throttles(request)  # type: ignore[misc]
        if self.rate_group and request.method in self.rate_methods:
            from tuco.auth import workspace_of

            check_rate_limit(workspace=workspace_of(request), group=self.rate_group)
