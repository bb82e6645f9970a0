"""Read-side BlueBubbles routes: ping, server info, availability, messages, chats, webhooks."""

from __future__ import annotations

from typing import Any

from . import responses as r
from .addresses import normalize_address
from .faults import AVAILABILITY_FAULTS
from .query import QueryError, compile_where, select
from .request import Request
from .serializers import chat_json, message_json
from .simulator import Simulator
from .store import now_ms
from .validation import MissingRule, first_error, js_number
from .webhooks import EVENT_OPTIONS

QUERY_RULES = [
    ("with", "array"),
    ("convertAttachments", "boolean"),
    ("where", "array"),
    ("where.*.statement", "required|string"),
    ("where.*.args", "present"),
    ("sort", "string|in:ASC,DESC"),
    ("after", "numeric|min:0"),
    ("before", "numeric|min:1"),
    ("chatGuid", "string"),
    ("offset", "numeric|min:0"),
    ("limit", "numeric|min:1|max:1000"),
]


def _with(value: Any) -> list[str]:
    """parseWithQuery: a comma list or an array, trimmed and lower-cased."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [str(i).strip().lower() for i in items if str(i).strip()]


def ping(sim: Simulator, req: Request) -> r.Response:
    return r.success("pong", message="Ping received!")


def server_info(sim: Simulator, req: Request) -> r.Response:
    cfg = sim.config
    return r.success(
        {
            "computer_id": "relay-simulator",
            "os_version": "26.0" if cfg.macos_tahoe else "15.5",
            "server_version": "1.9.9",
            "private_api": cfg.private_api,
            "helper_connected": cfg.private_api,
            "proxy_service": "Cloudflare",
            "detected_icloud": cfg.account,
            "detected_imessage": cfg.account,
            "macos_time_sync": 0.0,
            "local_ipv4s": [cfg.host],
            "local_ipv6s": [],
        }
    )


def _availability(sim: Simulator, req: Request, service: str) -> r.Response:
    problem = first_error(req.query, [("address", "required|string")])
    if problem:
        return r.bad_request(problem)
    address = normalize_address(req.query["address"]) or req.query["address"]
    fault = sim.faults.take(AVAILABILITY_FAULTS, address)
    capability = sim.store.capability(address)
    available = capability.imessage if service == "imessage" else capability.facetime
    with sim.store.lock:
        sim.store.availability_log.append(
            {"address": address, "service": service, "at": now_ms(), "available": None if fault else available}
        )
    if fault:
        label = "iMessage" if service == "imessage" else "FaceTime"
        return r.unhandled(f"Failed to determine {label} availability!")
    return r.success({"available": available})


def imessage_availability(sim: Simulator, req: Request) -> r.Response:
    if not sim.config.private_api:
        return r.private_api_gate()  # PrivateApiMiddleware runs before the validator
    return _availability(sim, req, "imessage")


def facetime_availability(sim: Simulator, req: Request) -> r.Response:
    problem = first_error(req.query, [("address", "required|string")])
    if problem:
        return r.bad_request(problem)
    if not sim.config.private_api:
        # No middleware on this route: the handler's own check throws a plain Error.
        return r.unhandled("iMessage Private API is not enabled!")
    return _availability(sim, req, "facetime")


def find_message(sim: Simulator, req: Request) -> r.Response:
    withs = _with(req.query.get("with"))
    with sim.store.lock:
        msg = sim.store.by_guid.get(req.params["guid"])
        if msg is None:
            return r.not_found("Message does not exist!")
        data = message_json(
            msg,
            rest=True,
            chats=bool({"chat", "chats"} & set(withs)),
            attachments=bool({"attachment", "attachments"} & set(withs)),
            participants=bool({"chat.participants", "chats.participants"} & set(withs)),
        )
    return r.success(data)


def query_messages(sim: Simulator, req: Request) -> r.Response:
    body = req.json_object()
    problem = first_error(body, QUERY_RULES)
    if problem:
        return r.bad_request(problem)
    withs = set(_with(body.get("with")))
    offset = int(js_number(body["offset"])) if body.get("offset") else 0
    limit = int(js_number(body["limit"])) if body.get("limit") else 100
    chat_guid = body.get("chatGuid") or None
    try:
        predicate = compile_where(body.get("where"))
    except QueryError as exc:
        return r.unhandled(str(exc))
    with sim.store.lock:
        if chat_guid is not None and chat_guid not in sim.store.chats:
            # The handler builds a Success but never calls .send(): Koa answers its default 404.
            return r.koa_not_found()
        page, total = select(
            sim.store.messages,
            chat_guid=chat_guid,
            predicate=predicate,
            after=int(js_number(body["after"])) if body.get("after") not in (None, "") else None,
            before=int(js_number(body["before"])) if body.get("before") not in (None, "") else None,
            sort="ASC" if body.get("sort") == "ASC" else "DESC",
            offset=offset,
            limit=limit,
        )
        participants = bool({"chat.participants", "chats.participants"} & withs)
        data = [
            message_json(
                m,
                rest=True,
                chats=bool({"chat", "chats"} & withs) or participants,
                attachments=bool({"attachment", "attachments"} & withs),
                participants=participants,
            )
            for m in page
        ]
    metadata = {"offset": offset, "limit": limit, "total": total, "count": len(data)}
    return r.success(data, message="Successfully fetched messages!", metadata=metadata)


def find_chat(sim: Simulator, req: Request) -> r.Response:
    withs = set(_with(req.query.get("with")))
    with sim.store.lock:
        chat = sim.store.chats.get(req.params["guid"])
        if chat is None:
            return r.not_found("Chat does not exist!")
        data = chat_json(chat, rest=True, participants=True)
        if {"lastmessage", "last-message"} & withs:
            last = [m for m in sim.store.messages if m.chat is chat]
            data["lastMessage"] = message_json(last[-1], rest=True, chats=False) if last else None
    return r.success(data)


# -- webhooks (1.9.9) ---------------------------------------------------------------------------


def list_webhooks(sim: Simulator, req: Request) -> r.Response:
    try:
        problem = first_error(req.query, [("name", "string"), ("id", "number")])
    except MissingRule as exc:
        return r.unhandled(str(exc))  # `?id=` always dies here: validatorjs has no rule "number"
    if problem:
        return r.bad_request(problem)
    url = req.query.get("url")
    if url:
        row = sim.webhooks.find_url(url)
        if row is None:
            # getWebhooks returns [null]; the router then reads `.events` of null.
            return r.unhandled("Cannot read properties of null (reading 'events')")
        return r.success([row.as_json()], message="Successfully fetched webhooks!")
    return r.success([w.as_json() for w in sim.webhooks.all()], message="Successfully fetched webhooks!")


def create_webhook(sim: Simulator, req: Request) -> r.Response:
    body = req.json_object()
    problem = first_error(body, [("url", "required|string"), ("events", "required|array")])
    if problem:
        return r.bad_request(problem)
    url, events = body["url"], body["events"]
    if not url.startswith("http"):
        return r.bad_request("Webhook URL must include an HTTP scheme!")
    for event in events:
        if not isinstance(event, str):
            return r.bad_request("Webhook events must be strings!")
        if event not in EVENT_OPTIONS:
            return r.bad_request(f"Invalid webhook event: {event}! Webhook must be one of: {','.join(EVENT_OPTIONS)}")
    row = sim.webhooks.add(url, events)
    return r.success(row.as_json(), message="Successfully created webhook!")


def delete_webhook(sim: Simulator, req: Request) -> r.Response:
    raw = req.params["id"].strip()
    webhook_id = int(raw) if raw.lstrip("-").isdigit() else None
    if webhook_id is None or not sim.webhooks.delete(webhook_id):
        return r.not_found("Webhook does not exist!")
    return r.success(message="Successfully deleted webhook!")
