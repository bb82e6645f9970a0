"""Replies: inbound messages grouped per lead (or per thread when no lead matched).

`reply_list` serves GET /api/replies; `reply_items` builds the items and is also
what the `message.reply` webhook puts in `data.reply`, so both always agree.

One item per group, newest reply first. A group is the lead when the reply is
linked to one, else its thread (same workspace + address), else the message
alone. An item carries the group's newest reply matching the filters, up to 10
recent replies of the group (newest first, not narrowed by the date filters) and up to
10 outbound messages that were sent to the lead/thread (newest first).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber
from django.http import QueryDict

from leads.models import Lead
from messaging.models import Direction, Message
from tuco.addresses import InvalidAddress, normalize_phone
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace
from tuco.pagination import parse_limit
from tuco.timefmt import iso, parse_iso

RECENT_MAX = 10
LEAD_NOT_FOUND = "Lead not found"


@dataclass
class ReplyFilters:
    lead_id: str | None = None
    campaign_id: str | None = None
    recipient_email: str | None = None
    recipient_phone: str | None = None
    line_id: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    page: int = 1
    limit: int = 50


@dataclass
class ReplyPage:
    items: list[dict[str, Any]]
    page: int
    limit: int
    total: int

    def pagination(self) -> dict[str, Any]:
        total_pages = math.ceil(self.total / self.limit) if self.total else 0
        return {"page": self.page, "limit": self.limit, "total": self.total, "totalPages": total_pages,
                "hasMore": self.page < total_pages}


def _object_id(params: QueryDict, name: str) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not is_object_id(value):
        raise BadRequest(f"Invalid {name}")
    return value


def _date(params: QueryDict, name: str, *, end_of_day: bool) -> datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    parsed = parse_iso(raw)
    if parsed is None:
        raise BadRequest(f"Invalid {name}")
    if end_of_day and len(raw) == 10 and parsed.time() == time(0):
        # A bare date as the upper bound means the whole day (inclusive).
        parsed = parsed + timedelta(days=1) - timedelta(microseconds=1)
    return parsed


def _page(raw: str | None) -> int:
    if raw in (None, ""):
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("page must be a positive integer", code="INVALID_PAGE")
    if value < 1:
        raise BadRequest("page must be a positive integer", code="INVALID_PAGE")
    return value


def parse_reply_filters(*, workspace: Workspace, params: QueryDict) -> ReplyFilters:
    """Validate the query string with the reference's error texts; 404 for a lead of another workspace."""
    filters = ReplyFilters(
        lead_id=_object_id(params, "leadId"),
        campaign_id=_object_id(params, "campaignId"),
        line_id=_object_id(params, "lineId"),
        date_from=_date(params, "dateFrom", end_of_day=False),
        date_to=_date(params, "dateTo", end_of_day=True),
        page=_page(params.get("page")),
        limit=parse_limit(params.get("limit")),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise BadRequest("dateFrom must be <= dateTo")
    email = (params.get("recipientEmail") or "").strip().lower()
    filters.recipient_email = email or None
    phone = (params.get("recipientPhone") or "").strip()
    if phone:
        # Not a valid number: match it as given (it simply matches nothing).
        with contextlib.suppress(InvalidAddress):
            phone = normalize_phone(phone)
        filters.recipient_phone = phone
    if filters.lead_id and not Lead.objects.filter(workspace=workspace, pk=filters.lead_id).exists():
        raise NotFound(LEAD_NOT_FOUND)
    return filters


def _group_key() -> Coalesce:
    return Coalesce("lead_id", "thread_id", "id")


def _filtered_replies(*, workspace: Workspace, filters: ReplyFilters) -> QuerySet[Message]:
    qs = Message.objects.filter(workspace=workspace, direction=Direction.INBOUND)
    if filters.campaign_id:
        # A reply belongs to the campaign of the message it answers.
        qs = qs.filter(reply_to__campaign_id=filters.campaign_id)
    if filters.lead_id:
        qs = qs.filter(lead_id=filters.lead_id)
    if filters.line_id:
        qs = qs.filter(line_id=filters.line_id)
    if filters.date_from:
        qs = qs.filter(created_at__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(created_at__lte=filters.date_to)
    if filters.recipient_phone:
        p = filters.recipient_phone
        qs = qs.filter(Q(recipient_phone=p) | Q(send_to_address=p) | Q(thread__address=p) | Q(lead__phone=p)
                       | Q(lead__alt_phone1=p) | Q(lead__alt_phone2=p) | Q(lead__alt_phone3=p))
    if filters.recipient_email:
        e = filters.recipient_email
        qs = qs.filter(Q(recipient_email=e) | Q(send_to_address=e) | Q(thread__address=e) | Q(lead__email=e)
                       | Q(lead__alt_email1=e) | Q(lead__alt_email2=e) | Q(lead__alt_email3=e))
    return qs


def reply_list(*, workspace: Workspace, filters: ReplyFilters) -> ReplyPage:
    """One page of groups that replied, ordered by their newest matching reply."""
    latest = (
        _filtered_replies(workspace=workspace, filters=filters)
        .annotate(newest=Window(RowNumber(), partition_by=[_group_key()],
                                order_by=[F("created_at").desc(), F("id").desc()]))
        .filter(newest=1)
        .order_by("-created_at", "-id")
    )
    total = latest.count()
    offset = (filters.page - 1) * filters.limit
    page = latest.select_related("lead", "thread", "reply_to")[offset: offset + filters.limit]
    rows = list(page) if total > offset else []
    return ReplyPage(items=reply_items(rows), page=filters.page, limit=filters.limit, total=total)


def _ranked(qs: QuerySet[Message], partition: Any) -> QuerySet[Message]:
    return qs.annotate(
        rank=Window(RowNumber(), partition_by=[partition], order_by=[F("created_at").desc(), F("id").desc()])
    ).filter(rank__lte=RECENT_MAX)


def _recent_replies(latest: list[Message]) -> dict[str, list[dict[str, Any]]]:
    keys = {_key_of(m) for m in latest}
    workspace_ids = {m.workspace_id for m in latest}
    qs = (Message.objects.filter(workspace_id__in=workspace_ids, direction=Direction.INBOUND)
          .annotate(group_key=_group_key()).filter(group_key__in=keys))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for m in _ranked(qs, _group_key()).order_by("-created_at", "-id"):
        grouped.setdefault(m.group_key, []).append(
            {"messageId": m.pk, "message": m.body, "receivedAtUtc": iso(m.created_at)})
    return grouped


def _sent_filter() -> Q:
    return Q(direction=Direction.OUTBOUND) & (Q(sent_at__isnull=False) | Q(fallback_sent_at__isnull=False))


def _parent_doc(m: Message) -> dict[str, Any]:
    return {"messageId": m.pk, "message": m.body, "sentAtUtc": iso(m.sent_at or m.fallback_sent_at),
            "batchId": m.batch_id or None, "campaignId": m.campaign_id or None, "stepIndex": m.step_index}


def _parent_messages(latest: list[Message]) -> dict[str, list[dict[str, Any]]]:
    """Outbound messages sent to each group: by lead, else by thread, else the one the reply answers."""
    lead_ids = {m.lead_id for m in latest if m.lead_id}
    thread_ids = {m.thread_id for m in latest if not m.lead_id and m.thread_id}
    lone_parents = {m.reply_to_id for m in latest if not m.lead_id and not m.thread_id and m.reply_to_id}
    grouped: dict[str, list[dict[str, Any]]] = {}
    if lead_ids:
        for m in _ranked(Message.objects.filter(_sent_filter(), lead_id__in=lead_ids), F("lead_id")).order_by(
                "-created_at", "-id"):
            grouped.setdefault(m.lead_id, []).append(_parent_doc(m))
    if thread_ids:
        for m in _ranked(Message.objects.filter(_sent_filter(), thread_id__in=thread_ids),
                         F("thread_id")).order_by("-created_at", "-id"):
            grouped.setdefault(m.thread_id, []).append(_parent_doc(m))
    if lone_parents:
        for m in Message.objects.filter(_sent_filter(), pk__in=lone_parents):
            grouped.setdefault(m.pk, []).append(_parent_doc(m))
    return grouped


def _key_of(m: Message) -> str:
    return m.lead_id or m.thread_id or m.pk


def _contact(m: Message) -> tuple[str | None, str | None, str | None]:
    lead: Lead | None = m.lead if m.lead_id else None
    address = m.thread.address if m.thread_id and m.thread else ""
    address_phone = address if address and "@" not in address else ""
    address_email = address if "@" in address else ""
    phone = m.recipient_phone or address_phone or (lead.phone if lead else "")
    email = m.recipient_email or address_email or (lead.email if lead else "")
    name = (lead.full_name if lead else "") or m.recipient_name
    return phone or None, email or None, name or None


def reply_items(latest: list[Message]) -> list[dict[str, Any]]:
    """The API/webhook item for each group whose newest reply is given (order kept)."""
    if not latest:
        return []
    recent = _recent_replies(latest)
    parents = _parent_messages(latest)
    items = []
    for m in latest:
        phone, email, name = _contact(m)
        parent_key = m.lead_id or m.thread_id or m.reply_to_id
        parent = m.reply_to if m.reply_to_id else None
        items.append({
            "leadId": m.lead_id,
            "messageId": m.pk,
            "message": m.body,
            "respondedAtUtc": iso(m.created_at),
            "recipientPhone": phone,
            "recipientEmail": email,
            "name": name,
            "lineId": m.line_id,
            "channel": m.message_type,
            "threadId": m.thread_id,
            "replyToMessageId": m.reply_to_id,
            "campaignId": (parent.campaign_id or None) if parent is not None else None,
            "stepIndex": parent.step_index if parent is not None else None,
            "recentReplies": recent.get(_key_of(m), []),
            "parentMessages": parents.get(parent_key, []) if parent_key else [],
        })
    return items
