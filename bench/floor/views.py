"""The floor's one endpoint: authenticate, validate, INSERT, LPUSH, 201."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import redis
from django.conf import settings
from django.db import connection
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

TABLE = "bench_floor_message"
_redis = redis.Redis.from_url(settings.REDIS_URL)
_created_for_pid: int | None = None


def _ensure_table() -> None:
    global _created_for_pid
    if _created_for_pid != os.getpid():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id text PRIMARY KEY, workspace_id text NOT NULL, "
                           "body text NOT NULL, recipient_phone text NOT NULL, created_at timestamptz NOT NULL)")
        _created_for_pid = os.getpid()


class SendInput(serializers.Serializer):
    message = serializers.CharField(max_length=5000)
    recipientPhone = serializers.RegexField(r"^\+[1-9]\d{6,14}$")


class FloorMessages(APIView):
    def get(self, request: Request) -> Response:  # the readiness probe of the bench harness
        _ensure_table()
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return Response({"error": "Unauthorized"}, status=401)
        digest = hashlib.sha256(token.encode()).hexdigest()
        with connection.cursor() as cursor:
            cursor.execute("SELECT workspace_id FROM tuco_apikey WHERE key_hash = %s AND revoked_at IS NULL",
                           [digest])
            row = cursor.fetchone()
            if row is None:
                return Response({"error": "Unauthorized"}, status=401)
            body = SendInput(data=request.data)
            if not body.is_valid():
                return Response({"error": "Invalid request", "details": body.errors}, status=400)
            message_id = uuid.uuid4().hex[:24]
            cursor.execute(f"INSERT INTO {TABLE} (id, workspace_id, body, recipient_phone, created_at) "
                           "VALUES (%s, %s, %s, %s, now())",
                           [message_id, row[0], body.validated_data["message"], body.validated_data["recipientPhone"]])
        _redis.lpush("floor", json.dumps({"id": message_id}))
        return Response({"success": True, "message": {"_id": message_id, "status": "pending"}}, status=201)
