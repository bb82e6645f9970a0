"""Write paths for workspaces and API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from tuco import hot_cache
from tuco.models import ApiKey, Workspace

API_KEY_PREFIX = "tuco_sk_"
# lastUsedAt is advisory: write it at most once a minute per key, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def workspace_create(*, name: str, billing_status: str = Workspace.BillingStatus.ACTIVE) -> Workspace:
    if billing_status not in Workspace.BillingStatus.values:
        raise ValueError(f"billing status must be one of {', '.join(Workspace.BillingStatus.values)}")
    return Workspace.objects.create(name=name, billing_status=billing_status)


def api_key_create(*, workspace: Workspace, name: str = "default") -> tuple[ApiKey, str]:
    """Create a key; return it with the raw key, which is never stored and shown only now."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=raw_key[:12], key_hash=hash_api_key(raw_key)
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> bool:
    revoked = bool(ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
    hot_cache.api_keys.forget(api_key.key_hash)
    return revoked


def _active_key(key_hash: str) -> ApiKey | None:
    return ApiKey.objects.select_related("workspace").filter(key_hash=key_hash, revoked_at__isnull=True).first()


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key and its workspace, from the per-process cache (tuco.hot_cache: a revocation reaches
    another process within TUCO_API_KEY_CACHE_SECONDS)."""
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    key_hash = hash_api_key(raw_key)
    api_key = hot_cache.api_keys.get(key_hash, lambda: _active_key(key_hash))
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
