"""The document `make fuzz` hands schemathesis: /api/schema plus the provider callbacks.

/api/schema describes the API an integrator calls; the provider callbacks under /hooks/
(BlueBubbles relay events, inbound email, Twilio status and inbound SMS) are plain Django
views that drf-spectacular cannot see, and they are not the integrator's to call. They are
described here, for the fuzzer only, from what the providers send: the query parameters
that authenticate them, their bodies (with the fields the handlers read, so positive cases
reach the handlers and negative ones break exactly those fields) and their answers.
tests/hardening/test_fuzz_document.py checks that every /hooks/ route of the URL conf is
described, so a new callback is fuzzed too.
"""

from __future__ import annotations

import copy
from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON_ERROR = {"description": "", "content": {"application/json": {"schema": _ERROR}}}
_OK = {"description": "", "content": {"application/json": {"schema": {
    "type": "object", "required": ["ok", "result"],
    "properties": {"ok": {"type": "boolean"}, "result": {"type": "string"}}}}}}
_LINE_ID = {"in": "path", "name": "line_id", "required": True, "schema": {"type": "string"}}
_SECRET = {"in": "query", "name": "secret", "required": True, "schema": {"type": "string"}}
_WS = {"in": "query", "name": "ws", "required": True, "schema": {"type": "string"}}
_MS = {"type": "integer", "nullable": True}  # BlueBubbles dates are epoch milliseconds

_RELAY_EVENT = {
    "type": "object",
    "required": ["type", "data"],
    "properties": {
        "type": {"type": "string", "enum": ["new-message", "updated-message", "message-send-error",
                                            "typing-indicator", "chat-read-status-changed"]},
        "data": {"type": "object", "properties": {
            "guid": {"type": "string"}, "tempGuid": {"type": "string"}, "text": {"type": "string", "nullable": True},
            "isFromMe": {"type": "boolean"}, "isDelivered": {"type": "boolean"}, "error": {"type": "integer"},
            "dateCreated": _MS, "dateDelivered": _MS, "dateRead": _MS,
            "handle": {"type": "object", "properties": {"address": {"type": "string"}}},
            "attachments": {"type": "array", "items": {"type": "object", "properties": {
                "guid": {"type": "string"}, "transferName": {"type": "string"}}}},
        }},
    },
}
_RAW_EMAIL_EXAMPLE = ("From: Ana <ana@example.com>\r\nTo: line@example.com\r\nSubject: Re: hello\r\n"
                      "Message-ID: <fuzz-1@example.com>\r\nIn-Reply-To: <unknown@example.com>\r\n\r\nThanks!\r\n")
_TWILIO_STATUS = {"type": "object", "properties": {
    "MessageSid": {"type": "string"}, "SmsSid": {"type": "string"}, "AccountSid": {"type": "string"},
    "MessageStatus": {"type": "string", "enum": ["queued", "sending", "sent", "delivered", "undelivered",
                                                 "failed", "read", "canceled"]},
    "ErrorCode": {"type": "string"}, "To": {"type": "string"}, "From": {"type": "string"}}}
_TWILIO_INBOUND = {"type": "object", "properties": {
    "MessageSid": {"type": "string"}, "AccountSid": {"type": "string"}, "From": {"type": "string"},
    "To": {"type": "string"}, "Body": {"type": "string"}, "NumMedia": {"type": "string"}}}



def _form(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


HOOK_PATHS: dict[str, Any] = {
    "/hooks/bluebubbles/{line_id}": {"post": {
        "operationId": "hooks_bluebubbles", "parameters": [_LINE_ID, _SECRET],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _RELAY_EVENT}}},
        "responses": {"200": _OK, "400": _JSON_ERROR, "404": _JSON_ERROR, "413": _JSON_ERROR},
    }},
    "/hooks/email/{line_id}": {"post": {
        "operationId": "hooks_email_inbound", "parameters": [_LINE_ID, _SECRET],
        "requestBody": {"required": True, "content": {
            "text/plain": {"schema": {"type": "string"}, "example": _RAW_EMAIL_EXAMPLE},
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                "email": {"type": "string"}, "body-mime": {"type": "string"}}}},
        }},
        "responses": {"200": _OK, "400": _JSON_ERROR, "404": _JSON_ERROR, "413": _JSON_ERROR},
    }},
    "/hooks/twilio/status": {"post": {
        "operationId": "hooks_twilio_status", "parameters": [_WS],
        "requestBody": _form(_TWILIO_STATUS),
        "responses": {"200": _OK, "400": _JSON_ERROR, "403": _JSON_ERROR, "413": _JSON_ERROR},
    }},
    "/hooks/twilio/inbound": {"post": {
        "operationId": "hooks_twilio_inbound", "parameters": [_WS],
        "requestBody": _form(_TWILIO_INBOUND),
        "responses": {"200": {"description": "empty TwiML", "content": {"text/xml": {"schema": {"type": "string"}}}},
                      "400": _JSON_ERROR, "403": _JSON_ERROR, "413": _JSON_ERROR},
    }},
}


def fuzz_document(api_document: dict[str, Any]) -> dict[str, Any]:
    """/api/schema with the provider callbacks added (the callbacks need no API key: `security: []`)."""
    document = copy.deepcopy(api_document)
    for path, operations in HOOK_PATHS.items():
        assert path not in document["paths"], f"{path} is in /api/schema now: drop it from HOOK_PATHS"
        document["paths"][path] = {method: {**operation, "security": [], "tags": ["hooks"]}
                                   for method, operation in copy.deepcopy(operations).items()}
    return document
