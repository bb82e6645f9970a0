"""fallback_policy: the spec's "Fallback SMS fires?" table, row by row."""

from __future__ import annotations

import pytest

from fallback.models import FallbackConfig
from messaging.models import Message
from messaging.send.fallback import fallback_policy


def _config(*, configured: bool = True, workspace_default: bool = False, provider: str = "twilio") -> FallbackConfig:
    config = FallbackConfig(provider=provider, send_fallback_sms_on_failed=workspace_default)
    if configured:
        config.twilio_account_sid, config.twilio_auth_token, config.twilio_from_number = (
            "AC" + "0" * 32, "f" * 32, "+14155550100")
        config.ghl_location_id, config.ghl_api_token = "loc", "tok"
        config.webhook_url = "https://hooks.example.com/sms"
    return config


def _message(status: str, flag: bool | None = None, message_type: str = "imessage",
             recipient_phone: str = "+12025550100") -> Message:
    return Message(status=status, send_fallback_sms_on_failed=flag, message_type=message_type,
                   recipient_phone=recipient_phone)


def test_an_email_only_message_never_fires() -> None:
    """Spec: "Fallback SMS requires recipientPhone on the message. Email-only messages will not trigger
    fallback SMS" — whatever the status, flag and configuration."""
    assert fallback_policy(_message("fallback", recipient_phone=""), _config()) is False
    assert fallback_policy(_message("failed", flag=True, recipient_phone=""), _config()) is False


@pytest.mark.parametrize("provider", ["twilio", "ghl", "webhook"])
def test_row1_status_fallback_with_fallback_configured_always_fires(provider) -> None:
    assert fallback_policy(_message("fallback"), _config(provider=provider)) is True
    assert fallback_policy(_message("fallback", flag=False), _config(provider=provider)) is True


def test_row1_status_fallback_without_config_does_not_fire() -> None:
    assert fallback_policy(_message("fallback"), _config(configured=False)) is False
    assert fallback_policy(_message("fallback"), None) is False
    assert fallback_policy(_message("fallback"), _config(provider="")) is False


def test_row2_failed_with_flag_and_config_fires() -> None:
    assert fallback_policy(_message("failed", flag=True), _config()) is True


def test_row2_failed_with_workspace_default_fires_when_message_does_not_say() -> None:
    assert fallback_policy(_message("failed", flag=None), _config(workspace_default=True)) is True
    # The message's own false beats the workspace default.
    assert fallback_policy(_message("failed", flag=False), _config(workspace_default=True)) is False


def test_row3_failed_without_flag_does_not_fire() -> None:
    assert fallback_policy(_message("failed", flag=False), _config()) is False
    assert fallback_policy(_message("failed", flag=None), _config(workspace_default=False)) is False


def test_row4_failed_with_flag_but_no_config_does_not_fire() -> None:
    # (The API refuses this combination at create time with FALLBACK_NOT_CONFIGURED.)
    assert fallback_policy(_message("failed", flag=True), _config(configured=False)) is False
    assert fallback_policy(_message("failed", flag=True), None) is False


@pytest.mark.parametrize("status", ["queued", "pending", "sending", "sent", "delivered", "scheduled", "cancelled"])
def test_other_statuses_never_fire(status) -> None:
    assert fallback_policy(_message(status, flag=True), _config(workspace_default=True)) is False


def test_an_sms_message_is_not_resent_as_fallback_sms() -> None:
    assert fallback_policy(_message("failed", flag=True, message_type="sms"), _config()) is False
