"""BlueBubbles serializers (reference §6): the REST form and the lighter webhook form.

Key order follows MessageSerializer so diffs against real payloads stay readable. Every key a real
macOS 13+ server emits is present, even when the simulator has nothing better than null/false.
"""

from __future__ import annotations

from typing import Any

from .store import Attachment, Chat, Handle, Message

DM_STYLE = 45


def handle_json(h: Handle, *, rest: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"originalROWID": h.rowid, "address": h.address, "service": h.service}
    if rest:
        out["uncanonicalizedId"] = None
        out["country"] = "us"
    return out


def chat_json(c: Chat, *, rest: bool, participants: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"originalROWID": c.rowid, "guid": c.guid}
    if participants:
        out["participants"] = [handle_json(c.handle, rest=rest)]
    out.update(
        {
            "style": DM_STYLE,
            "chatIdentifier": c.identifier,
            "isArchived": False,
            "displayName": "",
        }
    )
    if rest:
        out.update(
            {
                "isFiltered": False,
                "groupId": c.group_id,
                "properties": None,
                "lastAddressedHandle": c.last_addressed_handle,
            }
        )
    return out


def attachment_json(a: Attachment, *, rest: bool, outgoing: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "originalROWID": a.rowid,
        "guid": a.guid,
        "uti": a.uti,
        "mimeType": a.mime_type,
        "transferName": a.name,
        "totalBytes": a.size,
        "height": 0,
        "width": 0,
        "metadata": None,
    }
    if rest:
        out.update(
            {
                "transferState": 5,  # finished
                "isOutgoing": outgoing,
                "hideAttachment": False,
                "isSticker": False,
                "originalGuid": a.guid,
                "hasLivePhoto": False,
            }
        )
    return out


def message_json(
    m: Message,
    *,
    rest: bool,
    chats: bool | None,
    attachments: bool = True,
    participants: bool = False,
) -> dict[str, Any]:
    """`chats=None` leaves the key out (updated-message webhooks); False gives `[]` (REST without with=chats)."""
    out: dict[str, Any] = {
        "originalROWID": m.rowid,
        "guid": m.guid,
        "text": m.text,
        "attributedBody": None,
        "handle": handle_json(m.handle, rest=rest),
        "handleId": m.handle.rowid,
        "otherHandle": 0,
        "attachments": (
            [attachment_json(a, rest=rest, outgoing=m.is_from_me) for a in m.attachments] if attachments else []
        ),
        "subject": m.subject,
        "error": m.error,
        "dateCreated": m.date_created,
        "dateRead": m.date_read,
        "dateDelivered": m.date_delivered,
        "isDelivered": m.is_delivered,
        "isFromMe": m.is_from_me,
        "hasDdResults": False,
        "isArchived": False,
        "itemType": 0,
        "groupTitle": None,
        "groupActionType": 0,
        "balloonBundleId": None,
        "associatedMessageGuid": None,
        "associatedMessageType": None,
        "expressiveSendStyleId": m.effect_id,
        "threadOriginatorGuid": m.reply_to_guid,
        "hasPayloadData": False,
    }
    if chats is not None:
        out["chats"] = [chat_json(m.chat, rest=rest, participants=participants)] if chats else []
    out.update(
        {
            "messageSummaryInfo": None,
            "payloadData": None,
            "dateEdited": None,
            "dateRetracted": None,
            "partCount": 1,
        }
    )
    if rest:
        out.update(
            {
                "country": None,
                "isDelayed": False,
                "isAutoReply": False,
                "isSystemMessage": False,
                "isServiceMessage": False,
                "isForward": False,
                "threadOriginatorPart": "0:0:0" if m.reply_to_guid else None,
                "isCorrupt": False,
                "datePlayed": None,
                "cacheRoomnames": None,
                "isSpam": False,
                "isExpired": False,
                "timeExpressiveSendPlayed": None,
                "isAudioMessage": m.is_audio_message,
                "replyToGuid": m.reply_to_guid,
                "shareStatus": 0,
                "shareDirection": 0,
                "wasDeliveredQuietly": False,
                "didNotifyRecipient": False,
            }
        )
    return out


def sim_view(m: Message) -> dict[str, Any]:
    """The control API's flat view of one row (`GET /sim/v1/sent`)."""
    return {
        "guid": m.guid,
        "tempGuid": m.temp_guid,
        "chatGuid": m.chat.guid,
        "address": m.chat.identifier,
        "service": m.handle.service,
        "method": m.method,
        # An attachment row's text is U+FFFC (the object replacement character) in chat.db.
        "text": (m.text or "").replace("\ufffc", ""),
        "attachments": [{"name": a.name, "mimeType": a.mime_type, "size": a.size} for a in m.attachments],
        "error": m.error,
        "dateCreated": m.date_created,
        "dateDelivered": m.date_delivered,
        "dateRead": m.date_read,
        "isFromMe": m.is_from_me,
        "state": m.state,
    }
