from __future__ import annotations

from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from fallback.config import twilio_status_callback_url
from leads.models import DncEntry
from messaging.models import Message, MessageEvent
from tests.factories import MessageFactory
from tests.fallback.factories import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

PATH = "/hooks/twilio/status"


def _params(sid: str, status: str, error_code: str = "") -> dict[str, str]:
    """The form Twilio posts to a StatusCallback."""
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
              "AccountSid": ACCOUNT_SID, "From": FROM_NUMBER, "To": "+12025550100", "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = error_code
    return params


def _post(client: Any, workspace_id: str, params: dict[str, str], *, token: str = AUTH_TOKEN,
          url: str | None = None, signature: str | None = None) -> Any:
    signed_url = url or twilio_status_callback_url(workspace_id)
    if signature is None:
        signature = RequestValidator(token).compute_signature(signed_url, params)
    return client.post(f"{PATH}?ws={workspace_id}", data=params, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def fallback_sms(twilio_config: Any, workspace: Any) -> Message:
    return MessageFactory(workspace=workspace, status="fallback", fallback_sms_status="sent",
                          fallback_provider="twilio", fallback_external_id="SMfb1")


@pytest.fixture
def sms_message(twilio_config: Any, workspace: Any) -> Message:
    return MessageFactory(workspace=workspace, message_type="sms", status="sent", external_message_id="SMsms1")


def test_delivered_fallback(client, workspace, fallback_sms) -> None:
    response = _post(client, workspace.pk, _params("SMfb1", "delivered"))
    assert response.status_code == 200 and response.json()["result"] == "fallback"
    fallback_sms.refresh_from_db()
    assert fallback_sms.fallback_sms_status == "delivered" and fallback_sms.fallback_delivered_at
    assert fallback_sms.status == "fallback"
    assert MessageEvent.objects.filter(message=fallback_sms, reason="fallback_sms_delivered").count() == 1


def test_furthest_status_wins_for_fallback(client, workspace, fallback_sms) -> None:
    _post(client, workspace.pk, _params("SMfb1", "delivered"))
    for late in ("sent", "sending", "queued", "undelivered", "failed"):
        assert _post(client, workspace.pk, _params("SMfb1", late, "30003")).json()["result"] == "stale"
    fallback_sms.refresh_from_db()
    assert fallback_sms.fallback_sms_status == "delivered" and fallback_sms.fallback_error == ""
    assert MessageEvent.objects.filter(message=fallback_sms, reason__startswith="fallback_sms").count() == 1


def test_early_statuses_do_not_move_a_sent_fallback_backwards(client, workspace, fallback_sms) -> None:
    for status in ("queued", "sending", "sent"):
        _post(client, workspace.pk, _params("SMfb1", status))
    fallback_sms.refresh_from_db()
    assert fallback_sms.fallback_sms_status == "sent"


def test_undelivered_fallback_records_the_error(client, workspace, fallback_sms) -> None:
    _post(client, workspace.pk, _params("SMfb1", "undelivered", "30007"))
    fallback_sms.refresh_from_db()
    assert fallback_sms.fallback_sms_status == "failed"
    assert fallback_sms.fallback_error == "Twilio error 30007: message filtered by the carrier"
    _post(client, workspace.pk, _params("SMfb1", "delivered"))
    fallback_sms.refresh_from_db()
    assert fallback_sms.fallback_sms_status == "failed"  # final statuses do not flip
    assert not DncEntry.objects.exists()


def test_opt_out_error_in_a_callback_adds_dnc(client, workspace, fallback_sms) -> None:
    _post(client, workspace.pk, _params("SMfb1", "failed", "21610"))
    assert DncEntry.objects.get(workspace=workspace, address=fallback_sms.recipient_phone).reason == "carrier_opt_out"


def test_sms_message_delivered_through_the_lifecycle(client, workspace, sms_message) -> None:
    assert _post(client, workspace.pk, _params("SMsms1", "delivered")).json()["result"] == "message"
    sms_message.refresh_from_db()
    assert sms_message.status == "delivered" and sms_message.delivered_at
    event = MessageEvent.objects.get(message=sms_message, to_status="delivered")
    assert event.from_status == "sent" and event.reason == "twilio_delivered"
    # A late "failed" cannot move a delivered message back.
    assert _post(client, workspace.pk, _params("SMsms1", "failed", "30003")).json()["result"] == "stale"
    sms_message.refresh_from_db()
    assert sms_message.status == "delivered" and sms_message.error_code == ""


def test_sms_message_undelivered_fails_with_twilio_code(client, workspace, sms_message) -> None:
    _post(client, workspace.pk, _params("SMsms1", "undelivered", "30003"))
    sms_message.refresh_from_db()
    assert sms_message.status == "failed" and sms_message.error_code == "TWILIO_30003"
    assert "unreachable destination handset" in sms_message.error
    _post(client, workspace.pk, _params("SMsms1", "delivered"))
    sms_message.refresh_from_db()
    assert sms_message.status == "failed"


def test_sms_opt_out_callback(client, workspace, sms_message) -> None:
    _post(client, workspace.pk, _params("SMsms1", "failed", "21610"))
    sms_message.refresh_from_db()
    assert sms_message.status == "failed" and sms_message.error_code == "TWILIO_21610"
    assert DncEntry.objects.filter(workspace=workspace, address=sms_message.send_to_address).exists()


def test_sms_still_sending_is_not_moved(client, workspace, twilio_config) -> None:
    message = MessageFactory(workspace=workspace, message_type="sms", status="sending", external_message_id="SMx")
    assert _post(client, workspace.pk, _params("SMx", "delivered")).json()["result"] == "stale"
    message.refresh_from_db()
    assert message.status == "sending"


def test_unknown_sid_is_200(client, workspace, twilio_config) -> None:
    response = _post(client, workspace.pk, _params("SMnobody", "delivered"))
    assert response.status_code == 200 and response.json()["result"] == "unknown"


def test_unknown_status_is_200_and_ignored(client, workspace, fallback_sms) -> None:
    response = _post(client, workspace.pk, _params("SMfb1", "teleported"))
    assert response.status_code == 200 and response.json()["result"] == "ignored"


def test_bad_signature_is_403_and_changes_nothing(client, workspace, fallback_sms) -> None:
    assert _post(client, workspace.pk, _params("SMfb1", "delivered"), token="0" * 32).status_code == 403
    assert _post(client, workspace.pk, _params("SMfb1", "delivered"), signature="").status_code == 403
    assert _post(client, workspace.pk, _params("SMfb1", "delivered"), signature="bm90IGEgc2ln").status_code == 403
    # A valid signature over different fields (tampered body) fails too.
    signature = RequestValidator(AUTH_TOKEN).compute_signature(twilio_status_callback_url(workspace.pk),
                                                               _params("SMfb1", "failed"))
    assert _post(client, workspace.pk, _params("SMfb1", "delivered"), signature=signature).status_code == 403
    fallback_sms.refresh_from_db()
    assert fallback_sms.fallback_sms_status == "sent"


def test_unknown_or_unconfigured_workspace_is_403(client, workspace, fallback_sms) -> None:
    assert _post(client, "0" * 24, _params("SMfb1", "delivered")).status_code == 403
    assert _post(client, "not-an-id", _params("SMfb1", "delivered")).status_code == 403
    assert client.post(PATH, data=_params("SMfb1", "delivered")).status_code == 403


def test_signature_over_the_url_django_saw_is_accepted(client, workspace, fallback_sms) -> None:
    url = f"http://testserver{PATH}?ws={workspace.pk}"
    assert _post(client, workspace.pk, _params("SMfb1", "delivered"), url=url).status_code == 200


def test_get_is_not_allowed(client, workspace) -> None:
    assert client.get(f"{PATH}?ws={workspace.pk}").status_code == 405
