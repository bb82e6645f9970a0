"""Fallback configuration API: GET / PATCH /api/workspace/fallback-config. Thin: parse → service → document."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fallback import schemas
from fallback.config import fallback_config_document, fallback_config_get, fallback_config_update
from tuco.auth import workspace_of


class FallbackConfigApi(APIView):
    @extend_schema(operation_id="fallback_config_get",
                   responses={200: schemas.FallbackConfigDocument, 401: schemas.Error},
                   summary="Read the workspace's fallback configuration (secrets masked)")
    def get(self, request: Request) -> Response:
        workspace = workspace_of(request)
        config = fallback_config_get(workspace_id=workspace.pk)
        return Response(fallback_config_document(config, workspace_id=workspace.pk))

    @extend_schema(operation_id="fallback_config_update", request=schemas.FallbackConfigPatch,
                   responses={200: schemas.FallbackConfigDocument, 400: schemas.Error, 401: schemas.Error,
                              402: schemas.Error},
                   summary="Change the fallback configuration (partial; all or nothing)",
                   description="Unknown fields are ignored and listed in `ignoredFields`. "
                               "400 codes: INVALID_FALLBACK_CONFIG (a malformed field, named in "
                               "`field`), FALLBACK_CONFIG_INCOMPLETE (the chosen provider lacks a required "
                               "setting). An invalid PATCH changes nothing.")
    def patch(self, request: Request) -> Response:
        workspace = workspace_of(request)
        result = fallback_config_update(workspace=workspace, data=request.data)
        body = fallback_config_document(result.config, workspace_id=workspace.pk,
                                        generated_secret=result.generated_secret)
        if result.ignored:
            body["ignoredFields"] = result.ignored
        return Response(body)
