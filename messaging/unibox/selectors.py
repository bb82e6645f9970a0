"""Reads for the Unibox: the visible thread list (filtered, newest activity first) and one thread's messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from campaigns.models import Campaign
from lines.models import Line
from messaging.models import Direction, Message, Thread
from tuco.admin import member_workspace_ids, scope_queryset
from tuco.ids import is_object_id

THREAD_MESSAGES_SHOWN = 200


@dataclass
class ThreadFilters:
    q: str = ""
    line_id: str = ""
    last_outbound_status: str = ""
    unread: bool = False
    workspace_id: str = ""


def _last_outbound_status() -> Subquery:
    latest = (Message.objects.filter(thread_id=OuterRef("pk"), direction=Direction.OUTBOUND)
              .order_by("-created_at", "-id").values("status")[:1])
    return Subquery(latest)


def _search(q: str) -> Q:
    """Every word must match the lead's name, phone or email, or the thread's address."""
    condition = Q()
    for term in q.split():
        match = (Q(address__icontains=term) | Q(lead__first_name__icontains=term)
                 | Q(lead__last_name__icontains=term) | Q(lead__email__icontains=term)
                 | Q(lead__phone__icontains=term))
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 3 and digits != term.lstrip("+"):
            # "(202) 555-0100" style input: compare digits against the stored E.164 forms.
            match |= Q(address__contains=digits) | Q(lead__phone__contains=digits)
        condition &= match
    return condition


def thread_list(*, user: Any, filters: ThreadFilters) -> QuerySet[Thread]:
    qs = scope_queryset(Thread.objects.all(), user, "workspace")
    qs = qs.select_related("lead", "line", "workspace").annotate(last_outbound_status=_last_outbound_status())
    if filters.workspace_id:
        qs = qs.filter(workspace_id=filters.workspace_id)
    if filters.line_id:
        qs = qs.filter(line_id=filters.line_id)
    if filters.last_outbound_status:
        qs = qs.filter(last_outbound_status=filters.last_outbound_status)
    if filters.unread:
        qs = qs.filter(unread_count__gt=0)
    if filters.q.strip():
        qs = qs.filter(_search(filters.q.strip()))
    return qs.order_by(F("last_message_at").desc(nulls_last=True), "-id")


def thread_get(*, user: Any, thread_id: str) -> Thread:
    """A thread the user may see, or 404 (another workspace's thread is indistinguishable from none)."""
    if not is_object_id(thread_id):
        raise Http404("No such thread")
    thread = (scope_queryset(Thread.objects.all(), user, "workspace")
              .select_related("lead", "line", "workspace").filter(pk=thread_id).first())
    if thread is None:
        raise Http404("No such thread")
    return thread


def thread_messages(*, thread: Thread, limit: int = THREAD_MESSAGES_SHOWN) -> tuple[list[Message], bool]:
    """The latest `limit` messages of the thread, oldest first, and whether older ones exist."""
    rows = list(Message.objects.filter(thread=thread).select_related("line", "lead")  # lead: unsent text preview
                .order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    return rows[:limit][::-1], more


def campaign_names(messages: list[Message]) -> dict[str, str]:
    """The names of the campaigns these messages came from, in one query (the thread page labels them)."""
    ids = {m.campaign_id for m in messages if m.campaign_id}
    if not ids:
        return {}
    return dict(Campaign.objects.filter(pk__in=ids).values_list("id", "name"))


def visible_lines(*, user: Any) -> QuerySet[Line]:
    return scope_queryset(Line.objects.all(), user, "workspace").order_by("phone", "email")


def user_sees_many_workspaces(user: Any) -> bool:
    ids = member_workspace_ids(user)
    return ids is None or len(ids) > 1
