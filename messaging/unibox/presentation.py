"""How a message looks in the admin and the Unibox: status icon + label, attachments, failure text.

Spec (message-object-and-lifecycle): the Unibox shows a per-message status icon
and label for every status except queued, scheduled and cancelled; those show
their explanation instead (why it waits, when it goes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.utils.html import format_html
from django.utils.safestring import SafeString

from messaging.explain import explanation_display
from messaging.models import Direction, Message, Status
from messaging.personalize import render_message


@dataclass(frozen=True)
class StatusLook:
    label: str
    icon: str
    tone: str  # CSS modifier: ok | info | warn | bad | muted


STATUS_LOOKS: dict[str, StatusLook] = {
    Status.PENDING: StatusLook("Pending", "◷", "info"),
    Status.SENDING: StatusLook("Sending", "↻", "info"),
    Status.SENT: StatusLook("Sent", "✓", "ok"),
    Status.DELIVERED: StatusLook("Delivered", "✓✓", "ok"),
    Status.FAILED: StatusLook("Failed", "⚠", "bad"),
    Status.FALLBACK: StatusLook("Fallback", "↪", "warn"),
    Status.RECEIVED: StatusLook("Received", "↓", "muted"),
}
# Shown in the Unibox without an icon (spec); the admin changelist still labels them.
NO_ICON_STATUSES = frozenset({Status.QUEUED, Status.SCHEDULED, Status.CANCELLED})
PLAIN_LOOKS: dict[str, StatusLook] = {
    Status.QUEUED: StatusLook("Queued", "", "muted"),
    Status.SCHEDULED: StatusLook("Scheduled", "", "muted"),
    Status.CANCELLED: StatusLook("Cancelled", "", "muted"),
}

TYPE_LABELS = {"imessage": "iMessage", "sms": "SMS", "email": "Email"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".heic", ".bmp", ".svg")


def unibox_status_look(status: str) -> StatusLook | None:
    """The Unibox icon + label of a status, or None for queued / scheduled / cancelled."""
    if status in NO_ICON_STATUSES:
        return None
    return STATUS_LOOKS.get(status, StatusLook(status.capitalize(), "•", "muted"))


def admin_status_look(status: str) -> StatusLook:
    return STATUS_LOOKS.get(status) or PLAIN_LOOKS.get(status) or StatusLook(status, "", "muted")


def status_badge(status: str) -> SafeString:
    look = admin_status_look(status)
    return format_html('<span class="tuco-badge tuco-badge-{}">{}{}</span>', look.tone,
                       f"{look.icon} " if look.icon else "", look.label)


@dataclass(frozen=True)
class Attachment:
    url: str  # "" when only the name is known (e.g. an inbound file not fetched yet)
    name: str
    is_image: bool


def _is_image(*names: str) -> bool:
    return any(n.lower().endswith(IMAGE_EXTENSIONS) for n in names if n)


def attachments_of(message: Message) -> list[Attachment]:
    urls = [u for u in (message.attachment_urls or []) if isinstance(u, str)]
    names = [n if isinstance(n, str) else "" for n in (message.attachment_names or [])]
    result = []
    for index, url in enumerate(urls):
        path = urlsplit(url).path
        name = names[index] if index < len(names) and names[index] else (unquote(path.rsplit("/", 1)[-1]) or url)
        result.append(Attachment(url=url, name=name, is_image=_is_image(path, name)))
    result += [Attachment(url="", name=name, is_image=False) for name in names[len(urls):] if name]
    return result


def failure_text(message: Message) -> str:
    """Why it failed, with the machine code: `error (ERROR_CODE)`; "" when nothing failed."""
    if not message.error and not message.error_code:
        return ""
    if message.error and message.error_code:
        return f"{message.error} ({message.error_code})"
    return message.error or message.error_code


@dataclass(frozen=True)
class ShownText:
    text: str  # what the bubble shows
    template: str  # the body as submitted, when it differs from `text` ("" otherwise)
    at_send: bool  # True: the text the channel rendered when it sent; False: rendered now (not sent yet, or
    #                sent before Tuco recorded the rendered text)


def shown_text(message: Message) -> ShownText:
    """The text the recipient got: recorded by the channel at send time (placeholders filled from the lead
    as it was then). A message no channel rendered yet — still waiting, or sent before the column existed —
    is rendered now from its lead (load it with the row: `select_related("lead")`)."""
    if message.direction != Direction.OUTBOUND:
        return ShownText(text=message.body, template="", at_send=True)
    at_send = bool(message.rendered_body)
    text = message.rendered_body if at_send else render_message(message)
    return ShownText(text=text, template=message.body if message.body != text else "", at_send=at_send)


@dataclass
class Bubble:
    """One message as the thread page draws it."""

    message: Message
    outbound: bool
    text: ShownText
    look: StatusLook | None
    explanation: str
    failure: str
    fallback: str
    attachments: list[Attachment]
    type_label: str
    campaign: CampaignLabel | None = None


@dataclass(frozen=True)
class CampaignLabel:
    """Which campaign and step an outbound message came from (the API's campaignId / stepIndex)."""

    campaign_id: str
    name: str
    step_index: int | None

    @property
    def text(self) -> str:
        step = f" · step {self.step_index}" if self.step_index is not None else ""
        return f"Campaign {self.name}{step}"


def campaign_label(message: Message, names: Mapping[str, str]) -> CampaignLabel | None:
    if not message.campaign_id or message.direction != Direction.OUTBOUND:
        return None
    # The id if the name is missing (not expected: a campaign with messages is archived, never deleted).
    return CampaignLabel(campaign_id=message.campaign_id, name=names.get(message.campaign_id, message.campaign_id),
                         step_index=message.step_index)


def bubble_for(message: Message, *, campaign_names: Mapping[str, str] | None = None) -> Bubble:
    outbound = message.direction == Direction.OUTBOUND
    look = unibox_status_look(message.status)
    explanation = ""
    if outbound and (look is None or message.queued_reason):
        # Waiting or cancelled messages say why (and when they will go: relative, local time) instead of an icon.
        explanation = explanation_display(message)
    failure = failure_text(message) if outbound and message.status in (Status.FAILED, Status.FALLBACK) else ""
    fallback = ""
    if message.status == Status.FALLBACK or message.fallback_sms_status:
        parts = [message.fallback_reason or "not reachable on iMessage"]
        if message.fallback_sms_status:
            parts.append(f"fallback SMS {message.fallback_sms_status}")
        if message.fallback_error:
            parts.append(message.fallback_error)
        fallback = " · ".join(parts)
    return Bubble(message=message, outbound=outbound, text=shown_text(message), look=look, explanation=explanation,
                  failure=failure, fallback=fallback, attachments=attachments_of(message),
                  type_label=TYPE_LABELS.get(message.message_type, message.message_type),
                  campaign=campaign_label(message, campaign_names or {}))
