"""API-key authentication and the workspace access rules every API view uses.

`Authorization: Bearer tuco_sk_…` → the key's workspace. A missing, unknown or
revoked key is 401 `{"error": "Unauthorized"}`; a past-due workspace may read
but every write answers 402 READ_ONLY.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tuco.errors import ApiError
from tuco.logging import bind_context
from tuco.models import ApiKey, Workspace


class ReadOnlyWorkspace(ApiError):
    status = 402

    def __init__(self) -> None:
        super().__init__("READ_ONLY", code="READ_ONLY", reason="past_due")


class ApiPrincipal:
    """`request.user` for API-key requests: the key and its workspace."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.workspace: Workspace = api_key.workspace

    @property
    def pk(self) -> str:
        return self.api_key.pk

    def __str__(self) -> str:
        return f"api-key:{self.api_key.pk}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiPrincipal, ApiKey] | None:
        from tuco.services import api_key_authenticate

        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed()
        api_key = api_key_authenticate(raw_key=token.strip())
        if api_key is None:
            raise AuthenticationFailed()
        bind_context(workspaceId=api_key.workspace_id)
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class WorkspaceAccess(BasePermission):
    """Authenticated by API key; writes refused while the workspace is past due."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.user, ApiPrincipal):
            return False
        if request.method not in SAFE_METHODS and request.user.workspace.is_read_only:
            raise ReadOnlyWorkspace()
        return True


def workspace_of(request: Request) -> Workspace:
    principal = request.user
    assert isinstance(principal, ApiPrincipal)
    return principal.workspace
