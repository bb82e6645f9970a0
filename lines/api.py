"""Lines API: GET /api/lines/by-user — every line of the workspace with limits, today's usage, health
and when it can next send."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lines import schemas
from lines.models import Line
from lines.selectors import LineState, line_states
from tuco.auth import workspace_of
from tuco.timefmt import iso


def line_document(state: LineState) -> dict[str, Any]:
    line = state.line
    device = line.device
    return {
        "_id": line.pk,
        "workspaceId": line.workspace_id,
        "phone": line.phone or None,
        "email": line.email or None,
        "firstName": line.first_name or None,
        "lastName": line.last_name or None,
        "channelType": line.channel_type,
        "lineType": line.line_type,
        "isActive": line.is_active,
        "provisioningStatus": "active" if line.is_active else "inactive",
        "timezone": line.timezone,
        "deviceId": line.device_id,
        "privateApi": bool(device and device.private_api),
        "dailyTotalMessagesLimit": line.daily_total_limit,
        "dailyNewConversationsLimit": line.daily_new_limit,
        "hourlyFirstTouchLimit": line.hourly_first_touch_limit,
        "availabilityDailyCap": line.availability_daily_cap,
        "deviceGapSeconds": device.device_gap_seconds if device else None,
        "contactGapSeconds": line.contact_gap_seconds,
        "usage": {"date": state.day, "totalMessagesCount": state.total, "newConversationsCount": state.new,
                  "availabilityChecksCount": state.availability, "firstTouchesThisHour": state.first_touch_this_hour},
        "healthCheck": {"status": line.health_status, "reason": line.health_reason or None,
                        "lastCheckedAt": iso(line.health_checked_at)},
        "nextSlotAt": {"anyMessage": iso(state.next_any), "newConversation": iso(state.next_new)},
        "createdAt": iso(line.created_at),
        "updatedAt": iso(line.updated_at),
    }


class LinesByUserApi(APIView):
    @extend_schema(operation_id="lines_by_user", responses={200: schemas.LinesResponse, 401: schemas.Error},
                   summary="List the workspace's lines with limits, today's usage, health and next free slot")
    def get(self, request: Request) -> Response:
        lines = list(Line.objects.select_related("device").filter(workspace=workspace_of(request)).order_by("id"))
        states = line_states(lines=lines, now=timezone.now())
        return Response({"lines": [line_document(s) for s in states]})
