"""Per-workspace API rate limits: token buckets in Redis, shared by every web process.

Each endpoint group has a bucket per workspace (whatever the number of keys)
that holds `limit` tokens and refills `limit` per minute. The check is one Lua
script (atomic, using Redis' clock so web processes agree). A limited request
is refused before the view runs, so it changes nothing; the 429 carries
Retry-After in whole seconds.
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


def _bucket_script() -> Any:
    global _script
    if _script is None:
        client = cache._cache.get_client(write=True)  # the django-redis client behind the cache
        _script = client.register_script(_BUCKET_LUA)
    return _script


def limit_for(workspace: Any, group: str) -> int:
    overrides = getattr(workspace, "rate_limits", None) or {}
    value = overrides.get(group, DEFAULT_LIMITS[group])
    return int(value)


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
