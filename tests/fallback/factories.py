"""Factories and canned provider payloads for the fallback tests."""

from __future__ import annotations

from typing import Any

import factory

from fallback.models import FallbackConfig
from tests.factories import WorkspaceFactory

ACCOUNT_SID = "AC" + "1a2b3c4d" * 4
AUTH_TOKEN = "f00dcafe" * 3 + "5eed1234"
FROM_NUMBER = "+14155550100"
GHL_LOCATION = "ve9EPM428h8vShlRW1KT"
GHL_TOKEN = "pit-6d0c1a7e-2f43-4b1e-9a77-0c3ad5e2b9f1"
WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
TWILIO_MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
GHL_UPSERT_URL = "https://services.leadconnectorhq.com/contacts/upsert"
GHL_MESSAGES_URL = "https://services.leadconnectorhq.com/conversations/messages"


class FallbackConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FallbackConfig

    workspace = factory.SubFactory(WorkspaceFactory)
    provider = "twilio"
    twilio_account_sid = ACCOUNT_SID
    twilio_auth_token = AUTH_TOKEN
    twilio_from_number = FROM_NUMBER


def twilio_message(*, sid: str = "SM1f0e8ae6ade43cb3c0ce4525424e404f", to: str = "+12025550100",
                   body: str = "Hello", status: str = "queued") -> dict[str, Any]:
    """Twilio's Message resource as POST /Messages.json returns it (201)."""
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": None,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": FROM_NUMBER,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": status,
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"},
        "to": to,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    """Twilio's REST error body."""
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def ghl_upsert(contact_id: str = "seD4PfOuKoVMLkEZqohJ", phone: str = "+12025550100") -> dict[str, Any]:
    return {
        "new": True,
        "contact": {"id": contact_id, "locationId": GHL_LOCATION, "phone": phone, "firstNameLowerCase": None,
                    "tags": [], "dateAdded": "2024-06-06T18:54:57.221Z", "type": "lead", "source": "Tuco"},
        "traceId": "0c52a6e4-5a3c-44ef-8d19-5a6e0b1dcb53",
    }


def ghl_message(message_id: str = "t22c6DQcTDf3MjRhwf77") -> dict[str, Any]:
    return {"conversationId": "ABC12h2F6uBrIkfXYazb", "messageId": message_id, "messageIds": [message_id],
            "msg": "Message queued successfully.", "traceId": "8b1f0a7c-6b2e-4f0e-9b61-3c3d2f5c1a11"}
