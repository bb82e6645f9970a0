"""Provider callbacks are resolved within the workspace (and the Mac) that authenticated them.

Black-box, over real HTTP against the app: workspace A holds its own line secrets and Twilio token
and names workspace B's messages — by guid, by tempGuid (`tuco-<messageId>-<n>` is guessable from
one's own ids), by Twilio MessageSid, by an email's Message-ID (a bounce's returned headers, a reply's
In-Reply-To) — in every callback that can change a send or join a thread. (/hooks/twilio/inbound names
no message: its one id is the workspace, whose token must sign it, tests/hardening/test_isolation.py.) Nothing in the
database changes, and each answer is the answer for an id that does not exist, so a guess learns
nothing. An email line's secret does not open the relay hook, and an inactive line's secret opens
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.utils import timezone
from twilio.request_validator import RequestValidator

from fallback.models import FallbackConfig
from leads.models import DncEntry
from lines.models import Line
from messaging.models import Message, SendAttempt, Thread
from tests.factories import LineFactory, MessageFactory, WorkspaceFactory
from tests.hardening.seed import db_snapshot, snapshot_diff
from tests.hardening.server import live_http_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def base_url() -> Iterator[str]:
    with live_http_server() as url:
        yield url


def _tenant(n: int) -> dict[str, Any]:
    workspace = WorkspaceFactory(name=f"tenant {n}")
    line = LineFactory(workspace=workspace, phone=f"+1415888{n:04d}")
    email_line = LineFactory(workspace=workspace, device=None, channel_type="email", phone="",
                             email=f"mail{n}@tenant.example.com", smtp_host="smtp.example.com")
    FallbackConfig.objects.create(workspace=workspace, provider="twilio", twilio_account_sid="AC" + "ab12" * 8,
                                  twilio_auth_token=f"{n:032x}", twilio_from_number="+14155550100")
    now = timezone.now()
    sent = MessageFactory(workspace=workspace, line=line, status="sent", sent_at=now, recipient_phone="+12025550101",
                          send_to_address="+12025550101", external_message_id=f"GUID-SENT-{n}")
    SendAttempt.objects.create(message=sent, number=1, channel="relay", line=line, started_at=now, outcome="sent",
                               temp_guid=f"tuco-{sent.pk}-1", external_id=f"GUID-SENT-{n}",
                               to_address="+12025550101")
    sending = MessageFactory(workspace=workspace, line=line, status="sending", sending_since=now,
                             recipient_phone="+12025550102", send_to_address="+12025550102")
    SendAttempt.objects.create(message=sending, number=1, channel="relay", line=line, started_at=now,
                               outcome="in_flight", temp_guid=f"tuco-{sending.pk}-1", to_address="+12025550102")
    sms = MessageFactory(workspace=workspace, status="sent", message_type="sms", sent_at=now,
                         recipient_phone="+12025550103", send_to_address="+12025550103",
                         external_message_id=f"SMsms{n:030d}")
    fallback = MessageFactory(workspace=workspace, line=line, status="fallback", recipient_phone="+12025550104",
                              fallback_sms_status="sent", fallback_provider="twilio",
                              fallback_external_id=f"SMfb{n:030d}")
    return {"workspace": workspace, "line": line, "email_line": email_line, "sent": sent, "sending": sending,
            "sms": sms, "fallback": fallback, "token": f"{n:032x}"}


def _relay(base_url: str, line: Line, event: str, data: dict[str, Any]) -> requests.Response:
    return requests.post(f"{base_url}/hooks/bluebubbles/{line.pk}?secret={line.webhook_secret}",
                         json={"type": event, "data": data}, timeout=10)


def _twilio(base_url: str, tenant: dict[str, Any], params: dict[str, str]) -> requests.Response:
    path = f"/hooks/twilio/status?{urlencode({'ws': tenant['workspace'].pk})}"
    from fallback.config import twilio_status_callback_url

    signed_url = twilio_status_callback_url(tenant["workspace"].pk)
    signature = RequestValidator(tenant["token"]).compute_signature(signed_url, params)
    return requests.post(f"{base_url}{path}", data=params, headers={"X-Twilio-Signature": signature}, timeout=10)


def _relay_calls(victim: dict[str, Any], *, guess: bool) -> list[tuple[str, dict[str, Any]]]:
    """Every relay event that could move a send, naming the victim's ids (or ids nobody has)."""
    sent, sending = victim["sent"], victim["sending"]
    guid = sent.external_message_id if not guess else "GUID-NOBODY"
    sent_temp = f"tuco-{sent.pk}-1" if not guess else "tuco-000000000000000000000000-1"
    sending_temp = f"tuco-{sending.pk}-1" if not guess else "tuco-000000000000000000000001-1"
    return [
        ("message-send-error", {"guid": guid, "tempGuid": sent_temp, "error": 22, "isFromMe": True}),
        ("message-send-error", {"guid": "", "tempGuid": sent_temp, "error": 22, "isFromMe": True}),
        ("new-message", {"guid": "GUID-CONFIRM", "tempGuid": sending_temp, "isFromMe": True, "text": "hi"}),
        ("new-message", {"guid": guid, "isFromMe": True, "isDelivered": True, "dateRead": 1_900_000_000_000}),
        ("updated-message", {"guid": guid, "isFromMe": True, "isDelivered": True,
                             "dateDelivered": 1_900_000_000_000, "dateRead": 1_900_000_000_000}),
    ]


def test_a_tenant_cannot_move_another_tenants_messages_through_its_own_relay_hook(base_url) -> None:
    attacker, victim = _tenant(1), _tenant(2)
    before = db_snapshot()
    for (event, foreign), (_, unknown) in zip(_relay_calls(victim, guess=False), _relay_calls(victim, guess=True),
                                              strict=True):
        aimed = _relay(base_url, attacker["line"], event, foreign)
        guessed = _relay(base_url, attacker["line"], event, unknown)
        assert aimed.status_code == guessed.status_code == 200
        assert aimed.json() == guessed.json(), (event, foreign)  # a guess learns nothing
        assert snapshot_diff(before, db_snapshot()) == [], (event, foreign)
    assert Message.objects.get(pk=victim["sent"].pk).status == "sent"
    assert Message.objects.get(pk=victim["sending"].pk).status == "sending"


def test_a_tenant_cannot_move_another_tenants_sms_through_its_own_twilio_callback(base_url) -> None:
    attacker, victim = _tenant(3), _tenant(4)
    before = db_snapshot()
    for sid in (victim["sms"].external_message_id, victim["fallback"].fallback_external_id):
        for status in ("delivered", "undelivered"):
            params = {"MessageSid": sid, "MessageStatus": status, "ErrorCode": "30003"}
            aimed = _twilio(base_url, attacker, params)
            guessed = _twilio(base_url, attacker, {**params, "MessageSid": "SM" + "0" * 32})
            assert aimed.status_code == guessed.status_code == 200
            assert aimed.json() == guessed.json() == {"ok": True, "result": "unknown"}
    assert snapshot_diff(before, db_snapshot()) == []


def test_the_same_events_do_reach_the_owners_messages(base_url) -> None:
    """The control: the owner's own line moves its own messages (the test above is not vacuous)."""
    owner = _tenant(5)
    confirm = _relay(base_url, owner["line"], "new-message",
                     {"guid": "GUID-CONFIRM-5", "tempGuid": f"tuco-{owner['sending'].pk}-1", "isFromMe": True})
    assert confirm.json()["result"] == "confirmed"
    delivered = _relay(base_url, owner["line"], "updated-message",
                       {"guid": owner["sent"].external_message_id, "isFromMe": True, "isDelivered": True})
    assert delivered.json()["result"] == "delivered"
    assert _twilio(base_url, owner, {"MessageSid": owner["sms"].external_message_id,
                                     "MessageStatus": "delivered"}).json()["result"] == "message"


def test_an_email_line_secret_does_not_open_the_relay_hook(base_url) -> None:
    tenant = _tenant(6)
    email_line = tenant["email_line"]
    response = requests.post(f"{base_url}/hooks/bluebubbles/{email_line.pk}?secret={email_line.webhook_secret}",
                             json={"type": "new-message", "data": {"guid": "g", "isFromMe": False, "text": "STOP",
                                                                   "handle": {"address": "+12025550199"}}},
                             timeout=10)
    assert response.status_code == 404 and response.json() == {"error": "Not found"}
    assert not Message.objects.filter(direction="inbound").exists()


@pytest.mark.parametrize("hook", ["bluebubbles", "email"])
def test_an_inactive_lines_secret_opens_nothing(base_url, hook) -> None:
    tenant = _tenant(7)
    line = tenant["line"] if hook == "bluebubbles" else tenant["email_line"]
    Line.objects.filter(pk=line.pk).update(is_active=False)
    body: Any = {"type": "new-message", "data": {"guid": "g", "isFromMe": False, "text": "hi",
                                                 "handle": {"address": "+12025550199"}}}
    kwargs: dict[str, Any] = {"json": body} if hook == "bluebubbles" else {
        "data": b"From: a@example.com\r\nMessage-ID: <x@example.com>\r\n\r\nhi\r\n",
        "headers": {"Content-Type": "message/rfc822"}}
    response = requests.post(f"{base_url}/hooks/{hook}/{line.pk}?secret={line.webhook_secret}", timeout=10,
                             **kwargs)
    assert response.status_code == 404
    assert not Message.objects.filter(direction="inbound").exists()


def _mail(base_url: str, line: Line, raw: bytes) -> requests.Response:
    return requests.post(f"{base_url}/hooks/email/{line.pk}?secret={line.webhook_secret}", data=raw,
                         headers={"Content-Type": "message/rfc822"}, timeout=10)


def _hard_bounce(original_id: str) -> bytes:
    """An RFC 3464 report refusing jane@example.com for good, returning the headers of `original_id`."""
    return ("From: MAILER-DAEMON@mx.example.com\r\nMessage-ID: <dsn-" + original_id.strip("<>") + ">\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
            "Final-Recipient: rfc822; jane@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\n\r\n--B--\r\n").encode()


def _reply(name: str, in_reply_to: str) -> bytes:
    return (f"From: jane@example.com\r\nSubject: Re: hi\r\nMessage-ID: <reply-{name}@example.com>\r\n"
            f"In-Reply-To: {in_reply_to}\r\n\r\nSTOP\r\n").encode()


def _rows_of(workspace: Any) -> list[list[dict[str, Any]]]:
    return [list(model.objects.filter(workspace=workspace).order_by("pk").values())
            for model in (Message, Thread, DncEntry)]


def test_a_tenant_cannot_reach_another_tenants_emails_through_its_own_email_hook(base_url) -> None:
    attacker, victim = _tenant(8), _tenant(9)
    thread = Thread.objects.create(workspace=victim["workspace"], address="jane@example.com",
                                   line=victim["email_line"])
    email = MessageFactory(workspace=victim["workspace"], thread=thread, line=victim["email_line"],
                           message_type="email", status="sent", recipient_phone="", recipient_email="jane@example.com",
                           send_to_address="jane@example.com", email_message_id="<victim-9@mail.tuco.ai>",
                           correlation_id="victims-correlation")
    line, nobody = attacker["email_line"], "<nobody@mail.tuco.ai>"
    before = db_snapshot()
    aimed, guessed = _mail(base_url, line, _hard_bounce(email.email_message_id)), _mail(base_url, line,
                                                                                         _hard_bounce(nobody))
    assert aimed.status_code == guessed.status_code == 200
    assert aimed.json() == guessed.json() == {"ok": True, "result": "unknown"}  # not bounced, not "stale"
    assert snapshot_diff(before, db_snapshot()) == []

    victims_rows = _rows_of(victim["workspace"])
    aimed, guessed = _mail(base_url, line, _reply("aimed", email.email_message_id)), _mail(
        base_url, line, _reply("guessed", nobody))
    assert aimed.json() == guessed.json() == {"ok": True, "result": "received"}
    assert _rows_of(victim["workspace"]) == victims_rows  # the victim's thread, email and opt-outs untouched
    stored = Message.objects.get(external_message_id="<reply-aimed@example.com>")
    twin = Message.objects.get(external_message_id="<reply-guessed@example.com>")
    # Stored as the attacker's own reply from that address, exactly like the guess: not linked to the victim's
    # email (its id and correlationId would reach the attacker in message.reply and the API).
    assert (stored.workspace_id, stored.reply_to_id, stored.correlation_id) == (attacker["workspace"].pk, None, "")
    assert (stored.thread_id, stored.lead_id) == (twin.thread_id, twin.lead_id)
