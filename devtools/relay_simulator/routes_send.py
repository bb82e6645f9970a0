"""Send routes: /message/text, /message/attachment, /message/multipart, /attachment/upload.

Validation order copies messageValidator.ts (validatorjs rules, method defaulting and forcing,
tempGuid/message requirements, then the in-flight tempGuid cache).
"""

from __future__ import annotations

import math
from typing import Any

from . import responses as r
from .multipart import guess_mime, uti_for
from .request import Request
from .sending import ATTACHMENT, TEXT, Outgoing, perform_send
from .simulator import Simulator
from .store import Attachment, new_guid
from .validation import first_error

OBJECT_REPLACEMENT = "\ufffc"  # the text chat.db stores for an attachment row

TEXT_RULES = [
    ("chatGuid", "required|string"),
    ("tempGuid", "string"),
    ("message", "present|string"),
    ("method", "string|in:apple-script,private-api"),
    ("effectId", "string"),
    ("subject", "string"),
    ("selectedMessageGuid", "string"),
    ("partIndex", "numeric|min:0"),
    ("ddScan", "boolean"),
]
ATTACHMENT_RULES = [
    ("chatGuid", "required|string"),
    ("tempGuid", "string"),
    ("method", "string|in:apple-script,private-api"),
    ("name", "required|string"),
    ("isAudioMessage", "boolean"),
    ("effectId", "string"),
    ("subject", "string"),
    ("selectedMessageGuid", "string"),
    ("partIndex", "numeric|min:0"),
]
MULTIPART_RULES = [
    ("chatGuid", "required|string"),
    ("tempGuid", "string"),
    ("effectId", "string"),
    ("subject", "string"),
    ("selectedMessageGuid", "string"),
    ("partIndex", "numeric|min:0"),
    ("parts", "required|array"),
    ("ddScan", "boolean"),
]


def js_truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "", 0.0)


def is_empty(value: Any) -> bool:
    """helpers/utils.ts isEmpty: null, blank strings, empty lists and objects."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | dict):
        return len(value) == 0
    return False


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _run(sim: Simulator, req: Request, out: Outgoing) -> r.Response | None:
    try:
        return perform_send(sim, out, req.is_disconnected)
    finally:
        sim.store.release_temp_guid(out.temp_guid)


def send_text(sim: Simulator, req: Request) -> r.Response | None:
    body = req.json_object()
    problem = first_error(body, TEXT_RULES)
    if problem:
        return r.bad_request(problem)
    method = body.get("method") or "apple-script"
    forcing = ("effectId", "subject", "selectedMessageGuid", "ddScan", "attributedBody")
    if any(js_truthy(body.get(k)) for k in forcing):
        method = "private-api"
    temp_guid, message, subject = body.get("tempGuid"), body.get("message"), body.get("subject")
    if method == "apple-script" and is_empty(temp_guid):
        return r.bad_request("A 'tempGuid' is required when sending via AppleScript")
    if method == "apple-script" and is_empty(message):
        return r.bad_request("A 'message' is required when sending via AppleScript")
    if method == "private-api" and is_empty(message) and is_empty(subject):
        return r.bad_request("A 'message' or 'subject' is required when sending via the Private API")
    temp = _str_or_none(temp_guid)
    if not sim.store.claim_temp_guid(temp):
        return r.bad_request(f"Message is already queued to be sent! (Temp GUID: {temp_guid})")
    out = Outgoing(
        chat_guid=body["chatGuid"],
        temp_guid=temp,
        method=method,
        text=message if isinstance(message, str) else "",
        labels=TEXT,
        subject=_str_or_none(subject),
        effect_id=_str_or_none(body.get("effectId")),
        reply_to_guid=_str_or_none(body.get("selectedMessageGuid")),
    )
    return _run(sim, req, out)


def send_attachment(sim: Simulator, req: Request) -> r.Response | None:
    body, files = req.parse()
    body = body if isinstance(body, dict) else {}
    problem = first_error(body, ATTACHMENT_RULES)
    if problem:
        return r.bad_request(problem)
    method = body.get("method") or "apple-script"
    if any(js_truthy(body.get(k)) for k in ("effectId", "subject", "selectedMessageGuid", "attributedBody")):
        method = "private-api"
    temp_guid = body.get("tempGuid")
    if method == "apple-script" and is_empty(temp_guid):
        return r.bad_request("A 'tempGuid' is required when sending via AppleScript")
    temp = _str_or_none(temp_guid)
    duplicate = r.bad_request("Attachment is already queued to be sent!")
    with sim.store.lock:
        if temp and temp in sim.store.inflight_temp_guids:
            return duplicate
    upload = files.get("attachment")
    if upload is None or len(upload.data) == 0:
        return r.bad_request("Attachment not provided or was empty!")
    if not sim.store.claim_temp_guid(temp):
        return duplicate

    is_audio = body.get("isAudioMessage") == "true"
    name = str(body["name"])
    mime = guess_mime(name, upload.data, upload.content_type)
    if is_audio and name.lower().endswith(".mp3"):
        # The server converts an .mp3 voice note to .caf before handing it to Messages.
        name, mime = name[:-4] + ".caf", "audio/x-caf"
    attachment = sim.store.new_attachment(name, mime, uti_for(mime), len(upload.data))
    out = Outgoing(
        chat_guid=body["chatGuid"],
        temp_guid=temp,
        method=method,
        text=OBJECT_REPLACEMENT,
        labels=ATTACHMENT,
        subject=_str_or_none(body.get("subject")),
        effect_id=_str_or_none(body.get("effectId")),
        reply_to_guid=_str_or_none(body.get("selectedMessageGuid")),
        attachments=[attachment],
        is_audio_message=is_audio,
    )
    return _run(sim, req, out)


def upload_attachment(sim: Simulator, req: Request) -> r.Response | None:
    """PAPI-only staging area for /message/multipart; the path is what parts[].attachment names."""
    if not sim.config.private_api:
        return r.private_api_gate()
    _, files = req.parse()
    upload = files.get("attachment")
    if upload is None or len(upload.data) == 0:
        return r.bad_request("Attachment not provided or was empty!")
    path = f"{new_guid()}/{upload.filename or 'attachment'}"
    with sim.store.lock:
        sim.uploads[path] = (upload.filename or "attachment", len(upload.data))
    return r.success({"path": path}, message="Attachment uploaded!")


def _multipart_problem(sim: Simulator, parts: list[Any]) -> str | None:
    for part in parts:
        if not isinstance(part, dict):
            return "Each part must be a dictionary"
        if part.get("partIndex") is None:
            return "Each part must have a partIndex"
        if isinstance(part["partIndex"], bool) or not isinstance(part["partIndex"], int | float):
            return "Each partIndex must be a number"
        if not js_truthy(part.get("text")) and not js_truthy(part.get("attachment")):
            return "Each part must have either a text or attachment"
        if js_truthy(part.get("attachment")) and not js_truthy(part.get("name")):
            return "Each attachment must have a name"
        if js_truthy(part.get("attachment")):
            with sim.store.lock:
                known = part["attachment"] in sim.uploads
            if not known:
                return f"Attachment '{part['attachment']}' does not exist"
        if js_truthy(part.get("mention")) and not js_truthy(part.get("text")):
            return "A mention must have text"
    return None


def send_multipart(sim: Simulator, req: Request) -> r.Response | None:
    if not sim.config.private_api:
        return r.private_api_gate()  # the route carries PrivateApiMiddleware
    body = req.json_object()
    problem = first_error(body, MULTIPART_RULES) or _multipart_problem(sim, body.get("parts") or [])
    if problem:
        return r.bad_request(problem)
    temp = _str_or_none(body.get("tempGuid"))
    if not sim.store.claim_temp_guid(temp):
        return r.bad_request("Message is already queued to be sent!")
    texts: list[str] = []
    attachments: list[Attachment] = []
    for part in sorted(body["parts"], key=lambda p: p["partIndex"]):
        if js_truthy(part.get("attachment")):
            with sim.store.lock:
                _, size = sim.uploads[part["attachment"]]
            name = str(part["name"])
            mime = guess_mime(name, b"")
            attachments.append(sim.store.new_attachment(name, mime, uti_for(mime), size))
            texts.append(OBJECT_REPLACEMENT)
        else:
            texts.append(str(part.get("text")))
    out = Outgoing(
        chat_guid=body["chatGuid"],
        temp_guid=temp,
        method="private-api",
        text="".join(texts),
        labels=TEXT,
        subject=_str_or_none(body.get("subject")),
        effect_id=_str_or_none(body.get("effectId")),
        reply_to_guid=_str_or_none(body.get("selectedMessageGuid")),
        attachments=attachments,
    )
    return _run(sim, req, out)
