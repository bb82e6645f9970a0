"""Unibox pages inside the admin: the thread list and one thread (chat bubbles + reply box).

Mounted by `ThreadAdmin.get_urls` behind `admin_site.admin_view` (staff login,
CSRF, no cache). Threads of workspaces the user is not a member of answer 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from messaging.models import Thread
from messaging.send.state import thread_mark_read
from messaging.services.create import SendContext
from messaging.unibox.forms import ReplyForm, ThreadFilterForm
from messaging.unibox.presentation import bubble_for, unibox_status_look
from messaging.unibox.reply import thread_reply
from messaging.unibox.selectors import (
    campaign_names,
    thread_get,
    thread_list,
    thread_messages,
    user_sees_many_workspaces,
)
from tuco.errors import ApiError
from tuco.logging import get_logger

log = get_logger(__name__)

THREADS_PER_PAGE = 50
READ_ONLY_WORKSPACE = "This workspace is read-only (billing past due): new messages are blocked."


def _require_view(request: HttpRequest, model_admin: ModelAdmin) -> None:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied


def can_reply(request: HttpRequest) -> bool:
    return request.user.has_perm("messaging.add_message")


def thread_list_view(request: HttpRequest, *, model_admin: ModelAdmin) -> HttpResponse:
    _require_view(request, model_admin)
    form = ThreadFilterForm(request.GET or None, user=request.user)
    threads = thread_list(user=request.user, filters=form.filters())
    page = Paginator(threads, THREADS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"thread": t, "look": unibox_status_look(t.last_outbound_status) if t.last_outbound_status else None}
            for t in page.object_list]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Unibox",
        "opts": Thread._meta,
        "form": form,
        "page": page,
        "rows": rows,
        "show_workspace": user_sees_many_workspaces(request.user),
        "filtered": any(request.GET.get(k) for k in ("q", "line", "status", "unread", "workspace")),
    }
    return TemplateResponse(request, "unibox/thread_list.html", context)


def _send_reply(request: HttpRequest, thread: Thread, form: ReplyForm) -> HttpResponse | None:
    """Send through the API's own reply path; return a redirect, or None with errors on the form."""
    if thread.workspace.is_read_only:
        form.add_error(None, READ_ONLY_WORKSPACE)
        return None
    try:
        result = thread_reply(thread=thread, reply=form.reply_fields(),
                              context=SendContext(correlation_id=getattr(request, "correlation_id", "") or "",
                                                  created_by_user_id=request.user.pk))
    except ApiError as exc:
        form.add_error(None, f"{exc.error} ({exc.code})" if exc.code else exc.error)
        return None
    log.info("unibox.reply_sent", messageId=result.message.pk, threadId=thread.pk, created=result.created,
             userId=request.user.pk, workspaceId=thread.workspace_id)
    if not result.created:
        messages.info(request, f"The same text was already sent to this contact {result.duplicate_age_seconds}s "
                               "ago: that message is shown instead of sending it again.")
    url = reverse("admin:unibox_thread", args=[thread.pk])
    return HttpResponseRedirect(f"{url}#m-{result.message.pk}")


def thread_detail_view(request: HttpRequest, thread_id: str, *, model_admin: ModelAdmin) -> HttpResponse:
    _require_view(request, model_admin)
    thread = thread_get(user=request.user, thread_id=thread_id)
    status = 200
    if request.method == "POST":
        if not can_reply(request):
            raise PermissionDenied
        form = ReplyForm(request.POST, thread=thread)
        if form.is_valid():
            response = _send_reply(request, thread, form)
            if response is not None:
                return response
        status = 400
    else:
        form = ReplyForm(thread=thread)
        if thread.unread_count:
            # Opening the conversation is what "read" means for an operator.
            thread_mark_read(thread_id=thread.pk)
            thread.unread_count = 0
    rows, more = thread_messages(thread=thread)
    names = campaign_names(rows)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": thread.lead.full_name if thread.lead and thread.lead.full_name else thread.address,
        "opts": Thread._meta,
        "thread": thread,
        "bubbles": [bubble_for(m, campaign_names=names) for m in rows],
        "more": more,
        "form": form,
        "can_reply": can_reply(request) and not thread.workspace.is_read_only,
        "read_only_workspace": thread.workspace.is_read_only,
        "read_only_text": READ_ONLY_WORKSPACE,
        "line_inactive": thread.line is not None and not thread.line.is_active,
    }
    return TemplateResponse(request, "unibox/thread_detail.html", context, status=status)
