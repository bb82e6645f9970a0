"""End to end: attachments, availability → fallback, and outgoing webhooks through real processes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json

import pytest

from tests.attachments import samples
from tests.attachments.fileserver import FileServer
from tests.e2e.harness import Stack, wait_until
from tests.fallback.receivers import http_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
_numbers = itertools.count(5000)


def recipient() -> str:
    return f"+1202555{next(_numbers):04d}"


def _signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Tuco-Signature", ""))


def test_text_and_video_are_one_message_spending_one_device_gap(stack: Stack) -> None:
    sim = stack.sims[0]
    _, key, line_id = stack.workspace_with_line(sim, "--device-gap-seconds", "4")
    files = FileServer()
    try:
        video = files.add("/promo.mp4", samples.mp4(), "video/mp4")
        with_video, plain = recipient(), recipient()
        a = stack.send(key, message="Watch this", recipientPhone=with_video, attachmentUrls=[video],
                       attachmentNames=["promo.mp4"], fromLineId=line_id)
        b = stack.send(key, message="Next in line", recipientPhone=plain, fromLineId=line_id)
        stack.wait_status(key, a["_id"], {"sent", "delivered"}, timeout=40)
        stack.wait_status(key, b["_id"], {"sent", "delivered"}, timeout=40)
    finally:
        files.close()
    rows = sim.sent_to(with_video)
    assert [(r["text"], [(x["name"], x["mimeType"]) for x in r["attachments"]]) for r in rows] == [
        ("\ufffc", [("promo.mp4", "video/mp4")]), ("Watch this", [])] or \
        [[(x["name"], x["mimeType"]) for x in r["attachments"]] for r in rows] == [[("promo.mp4", "video/mp4")], []]
    assert len(stack.message(key, a["_id"])["attempts"]) == 1  # one claim: one device-gap slot
    next_send = sim.sent_to(plain)[0]["dateCreated"]
    assert rows[1]["dateCreated"] - rows[0]["dateCreated"] < 4000  # the parts went back to back
    # The next message waited one gap (measured between claims; rows are stamped a few ms later), not two.
    assert 3500 <= next_send - rows[0]["dateCreated"] < 7500


def test_recipient_without_imessage_falls_back_through_a_signed_webhook(stack: Stack) -> None:
    sim = stack.sims[0]
    _, key, _ = stack.workspace_with_line(sim, "--private-api")
    to = recipient()
    sim.control("POST", "handles", {"address": to, "imessage": False})
    with http_receiver() as (url, received):
        config = stack.api(key, "PATCH", "/api/workspace/fallback-config",
                           json={"provider": "webhook", "webhook": {"url": url, "secret": "whsec_e2e_secret_123456"}})
        assert config.status_code == 200, config.text
        doc = stack.send(key, message="Not on iMessage", recipientPhone=to)
        final = stack.wait_status(key, doc["_id"], {"fallback"}, timeout=30)
        assert final["reason"] == "Contact not available on iMessage" and final["checkedAddresses"] == [to]
        wait_until(lambda: stack.message(key, doc["_id"])["message"]["fallbackSmsStatus"] == "sent", timeout=30,
                   what="fallback sent")
        headers, body = received.requests[0]
    assert _signed_by("whsec_e2e_secret_123456", headers, body)
    assert json.loads(body)["data"]["recipientPhone"] == to
    assert sim.sent_to(to) == []  # iMessage never attempted


def test_sent_and_reply_webhooks_and_the_replies_api(stack: Stack) -> None:
    sim = stack.sims[0]
    _, key, _ = stack.workspace_with_line(sim)
    to = recipient()
    with http_receiver() as (url, received):
        created = stack.api(key, "POST", "/api/webhooks", json={"url": url, "name": "crm",
                                                                "events": ["message.sent", "message.reply"]})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        doc = stack.send(key, message="Tell me more?", recipientPhone=to)
        stack.wait_status(key, doc["_id"], {"sent", "delivered"})
        sim.control("POST", "inbound", {"from": to, "text": "Yes, tell me more"})
        wait_until(lambda: len(received.requests) >= 2, timeout=30, what="two webhook deliveries")
        deliveries = {h["X-Tuco-Event"]: (h, b) for h, b in received.requests}
    assert set(deliveries) == {"message.sent", "message.reply"}
    for headers, body in deliveries.values():
        assert _signed_by(secret, headers, body) and headers["X-Tuco-Event-Id"]
    sent_payload = json.loads(deliveries["message.sent"][1])
    assert sent_payload["messageId"] == doc["_id"] and sent_payload["message"]["status"] == "sent"
    reply_payload = json.loads(deliveries["message.reply"][1])
    assert reply_payload["message"] == "Yes, tell me more"
    replies = stack.api(key, "GET", "/api/replies", params={"recipientPhone": to}).json()["replies"]
    assert replies[0]["message"] == "Yes, tell me more"
    assert replies[0]["parentMessages"][0]["messageId"] == doc["_id"]
    inbound = stack.api(key, "GET", "/api/messages", params={"direction": "inbound", "recipient": to}).json()
    assert inbound["messages"][0]["threadId"] == doc["threadId"]
