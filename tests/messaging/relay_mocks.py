"""`responses` helpers speaking BlueBubbles for send-path tests."""

from __future__ import annotations

import itertools
from typing import Any

import responses

RELAY = "http://relay.test:8765"
_rowids = itertools.count(100)


def bb_message(*, guid: str, text: str, address: str, error: int = 0, date_created: int = 1_900_000_000_000,
               **extra: Any) -> dict[str, Any]:
    return {"originalROWID": next(_rowids), "guid": guid, "text": text, "error": error, "isFromMe": True,
            "handle": {"originalROWID": 1, "address": address, "service": "iMessage"}, "handleId": 1,
            "attachments": [], "dateCreated": date_created, "dateRead": None, "dateDelivered": None,
            "isDelivered": False, "chats": [{"guid": f"iMessage;-;{address}", "style": 45}], **extra}


def send_ok(guid: str = "GUID-1", *, text: str = "hi", address: str = "+12025551234") -> None:
    responses.post(f"{RELAY}/api/v1/message/text",
                   json={"status": 200, "message": "Message sent!", "data": bb_message(guid=guid, text=text,
                                                                                      address=address)})


def send_status(status: int, message: str, error_type: str = "iMessage Error", data: Any = None) -> None:
    top = {400: "You've made a bad request! Please check your request params & body",
           401: "You are not authorized to access this resource"}.get(status, "Message Send Error")
    responses.post(f"{RELAY}/api/v1/message/text",
                   json={"status": status, "message": top, "error": {"type": error_type, "message": message},
                         "data": data}, status=status)


def query_returns(rows: list[dict[str, Any]]) -> None:
    responses.post(f"{RELAY}/api/v1/message/query", json={
        "status": 200, "message": "Successfully fetched messages!", "data": rows,
        "metadata": {"offset": 0, "limit": 100, "total": len(rows), "count": len(rows)}})


def relay_accepts_everything(base: str = RELAY) -> list[dict[str, Any]]:
    """Every send succeeds with a fresh guid; returns the list the sends are recorded in."""
    import json as _json
    import uuid

    sent: list[dict[str, Any]] = []

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        body = _json.loads(request.body)
        address = body["chatGuid"].split(";-;", 1)[1]
        row = bb_message(guid=str(uuid.uuid4()).upper(), text=body["message"], address=address,
                         tempGuid=body["tempGuid"])
        sent.append({"address": address, "text": body["message"], "tempGuid": body["tempGuid"], "base": base})
        return 200, {}, _json.dumps({"status": 200, "message": "Message sent!", "data": row})

    responses.add_callback(responses.POST, f"{base}/api/v1/message/text", callback=callback,
                           content_type="application/json")
    return sent
