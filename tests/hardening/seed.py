"""One workspace with one of everything the API can address by id, and a whole-database snapshot.

`seed_workspace` builds rows through the factories and services (no API calls), so
the hardening tests can aim every route at real ids of a workspace. `db_snapshot`
reads every row of every Tuco table, so a test can prove that a refused request
changed nothing (not even a counter or an `updated_at`).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.utils import timezone

from campaigns.models import Campaign, Enrollment, Step
from fallback.models import FallbackConfig
from leads.models import DncEntry, Lead, LeadList
from lines.models import Line
from messaging.attachments.uploads import StoredUpload, upload_create
from messaging.models import Message, Thread
from tests.factories import LeadFactory, LeadListFactory, LineFactory, MessageFactory, WorkspaceFactory
from tuco.models import Workspace
from tuco.services import api_key_create
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.signing import new_secret

TUCO_APPS = ("tuco", "webhooks", "messaging", "leads", "lines", "fallback", "campaigns")
# A 1x1 PNG: the smallest file the upload store accepts as a real image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000185d0e1350000000049454e44ae426082"
)
_numbers = itertools.count(1)


@dataclass
class Seeded:
    workspace: Workspace
    key: str
    line: Line
    email_line: Line
    lead_list: LeadList
    lead: Lead
    thread: Thread
    dnc: DncEntry
    message: Message
    reply: Message
    webhook: WebhookEndpoint
    event: WebhookEvent
    delivery: WebhookDelivery
    fallback: FallbackConfig
    upload: StoredUpload
    campaign: Campaign
    marker: str
    extra_keys: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def ids(self) -> set[str]:
        """Every public id of this workspace's rows: none may appear in another workspace's answers."""
        return {self.workspace.pk, self.line.pk, self.email_line.pk, self.line.device_id, self.lead_list.pk,
                self.lead.pk, self.thread.pk,
                self.dnc.pk, self.message.pk, self.reply.pk, self.webhook.pk, self.event.event_id, self.upload.token,
                self.campaign.pk}


def seed_workspace(*, name: str, webhook_url: str = "http://127.0.0.1:9/hook", **workspace_fields: Any) -> Seeded:
    n = next(_numbers)
    marker = f"seedmarker{n}x{timezone.now().strftime('%H%M%S%f')}"
    workspace = WorkspaceFactory(name=f"{name} {marker}", **workspace_fields)
    _, key = api_key_create(workspace=workspace)
    line = LineFactory(workspace=workspace, phone=f"+1415777{n:04d}", email=f"line{n}@{marker}.example.com")
    email_line = LineFactory(workspace=workspace, device=None, channel_type="email", phone="",
                             email=f"mail{n}@{marker}.example.com", smtp_host="smtp.example.com")
    lead_list = LeadListFactory(workspace=workspace, name=f"List {marker}")
    lead = LeadFactory(workspace=workspace, list=lead_list, first_name=marker, phone=f"+1202777{n:04d}",
                       email=f"lead{n}@{marker}.example.com", custom_fields={"k": [1, None, "x"]})
    dnc = DncEntry.objects.create(workspace=workspace, address=f"+1904777{n:04d}", reason=f"r-{marker}")
    # The conversation of the message and its reply (what POST /api/unibox/send-reply addresses).
    thread = Thread.objects.create(workspace=workspace, address=lead.phone, lead=lead, line=line,
                                   last_message_at=timezone.now(), last_message_preview=f"Reply {marker}")
    message = MessageFactory(workspace=workspace, thread=thread, line=line, lead=lead, body=f"Hello {marker}",
                             recipient_phone=lead.phone, send_to_address=lead.phone, status="scheduled",
                             scheduled_date=timezone.now() + timedelta(days=30), from_line_phone=line.phone)
    reply = MessageFactory(workspace=workspace, thread=thread, line=line, lead=lead, body=f"Reply {marker}",
                           direction="inbound", status="received", recipient_phone=lead.phone,
                           send_to_address=lead.phone, reply_to=message, from_line_phone=line.phone)
    webhook = WebhookEndpoint.objects.create(workspace=workspace, url=webhook_url, events=["message.sent"],
                                             name=f"hook {marker}", secret=new_secret())
    now = timezone.now()
    event = WebhookEvent.objects.create(workspace=workspace, endpoint=webhook, event_type="message.sent",
                                        message_id=message.pk, body='{"event": "message.sent"}',
                                        status=WebhookEvent.Status.DELIVERED, attempt_count=1, delivered_at=now)
    delivery = WebhookDelivery.objects.create(event=event, attempt=1, at=now, url=webhook_url, success=True,
                                              status_code=200, latency_ms=5)
    fallback = FallbackConfig.objects.create(workspace=workspace, provider="twilio",
                                             twilio_account_sid="AC" + "1a2b3c4d" * 4,
                                             # Each workspace its own token: a signature must not verify elsewhere.
                                             twilio_auth_token=hashlib.md5(marker.encode()).hexdigest(),
                                             twilio_from_number="+14155550100")
    upload = upload_create(workspace_id=workspace.pk, file_name=f"{marker}.png", content=PNG)
    # A paused campaign with the lead enrolled: launch / resume / pause each have a state to act on or refuse.
    campaign = Campaign.objects.create(workspace=workspace, name=f"Campaign {marker}", lead_list=lead_list,
                                       status=Campaign.Status.PAUSED, launched_at=now)
    Step.objects.create(campaign=campaign, index=0, body=f"Hi {{firstName}} {marker}")
    Enrollment.objects.create(campaign=campaign, lead=lead, state=Enrollment.State.HELD, next_at=now)
    return Seeded(workspace=workspace, key=key, line=line, email_line=email_line, lead_list=lead_list, lead=lead,
                  thread=thread, dnc=dnc,
                  message=message, reply=reply, webhook=webhook, event=event, delivery=delivery, fallback=fallback,
                  upload=upload, campaign=campaign, marker=marker)


def seeded_path_ids(seeded: Seeded) -> dict[str, str]:
    """The seeded row each path parameter (API, hooks, upload links) can name, by parameter name."""
    return {"lead_id": seeded.lead.pk, "entry_id": seeded.dnc.pk, "message_id": seeded.message.pk,
            "webhook_id": seeded.webhook.pk, "event_id": seeded.event.event_id, "line_id": seeded.line.pk,
            "campaign_id": seeded.campaign.pk, "workspace_id": seeded.workspace.pk, "token": seeded.upload.token,
            "filename": seeded.upload.name}


# Columns that legitimately move on a refused request: the caller's own key records when it was used.
_VOLATILE = {("tuco", "apikey"): {"last_used_at"}}


def db_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every Tuco model, ordered by primary key."""
    snapshot: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in TUCO_APPS or not meta.managed or meta.proxy:
            continue
        skip = _VOLATILE.get((meta.app_label, meta.model_name), set())
        names = [f.attname for f in meta.concrete_fields if f.attname not in skip]
        snapshot[meta.label] = list(model._base_manager.order_by("pk").values(*names))
    return snapshot


def snapshot_diff(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Human-readable differences (table: row count or first changed row)."""
    changes = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label, []), after.get(label, [])
        if old == new:
            continue
        if len(old) != len(new):
            changes.append(f"{label}: {len(old)} rows -> {len(new)} rows")
            continue
        for a, b in zip(old, new, strict=True):
            if a != b:
                changed = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
                changes.append(f"{label} pk={a.get('id')}: {changed}")
                break
    return changes
