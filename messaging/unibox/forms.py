"""Unibox forms: the thread-list filters and the reply box.

The reply box hands its fields to `messaging.unibox.reply.thread_reply`, the
send path POST /api/unibox/send-reply uses too: the Unibox has no send path of
its own.
"""

from __future__ import annotations

from typing import Any

from django import forms

from messaging.models import Status, Thread
from messaging.unibox.reply import MESSAGE_TYPE_LABELS, reply_message_types
from messaging.unibox.selectors import ThreadFilters, visible_lines
from tuco.admin import scoped_workspaces

OUTBOUND_STATUSES = [s for s in Status if s != Status.RECEIVED]


class ThreadFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search",
                        widget=forms.TextInput(attrs={"placeholder": "Name, phone or email", "type": "search"}))
    line = forms.ChoiceField(required=False, label="Line")
    status = forms.ChoiceField(required=False, label="Last outbound",
                               choices=[("", "Any status")] + [(s.value, s.label) for s in OUTBOUND_STATUSES])
    unread = forms.BooleanField(required=False, label="Unread only")
    workspace = forms.ChoiceField(required=False, label="Workspace")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line"].choices = [("", "All lines")] + [
            (line.pk, str(line)) for line in visible_lines(user=user).only("id", "phone", "email")[:500]]
        self.fields["workspace"].choices = [("", "All workspaces")] + [
            (w.pk, w.name) for w in scoped_workspaces(user).only("id", "name")[:200]]

    def filters(self) -> ThreadFilters:
        if not self.is_valid():
            return ThreadFilters()
        data = self.cleaned_data
        return ThreadFilters(q=data["q"] or "", line_id=data["line"] or "", last_outbound_status=data["status"] or "",
                             unread=bool(data["unread"]), workspace_id=data["workspace"] or "")


class ReplyForm(forms.Form):
    message = forms.CharField(required=False, strip=False, label="Reply",
                              widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a reply…"}))
    message_type = forms.ChoiceField(label="Send as")
    attachment_urls = forms.CharField(
        required=False, label="Attachment URLs",
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "https://… (one per line, at most 2)"}))

    def __init__(self, *args: Any, thread: Thread, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.thread = thread
        types = reply_message_types(thread)  # the thread's own channel first, as the API's default
        self.fields["message_type"].choices = [(t, MESSAGE_TYPE_LABELS[t]) for t in types]
        self.fields["message_type"].initial = types[0]

    def reply_fields(self) -> dict[str, Any]:
        """The reply in the API's spelling (POST /api/unibox/send-reply without the thread's id)."""
        data = self.cleaned_data
        fields: dict[str, Any] = {"message": data["message"], "messageType": data["message_type"]}
        urls = [u.strip() for u in (data.get("attachment_urls") or "").splitlines() if u.strip()]
        if urls:
            fields["attachmentUrls"] = urls
        return fields
