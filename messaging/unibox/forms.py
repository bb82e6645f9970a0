"""Unibox forms: the thread-list filters and the reply box.

The reply box builds the same JSON body an integrator would POST to
/api/messages, so it is validated by `parse_send_request` and sent by
`message_create`: the Unibox has no send path of its own.
"""

from __future__ import annotations

from typing import Any

from django import forms

from lines.models import Line
from messaging.models import Status, Thread
from messaging.unibox.selectors import ThreadFilters, visible_lines
from tuco.addresses import is_email
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


def _message_types_for(thread: Thread) -> list[tuple[str, str]]:
    if is_email(thread.address):
        return [("email", "Email")]
    return [("imessage", "iMessage"), ("sms", "SMS")]


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
        choices = _message_types_for(thread)
        self.fields["message_type"].choices = choices
        self.fields["message_type"].initial = choices[0][0]

    def send_payload(self) -> dict[str, Any]:
        """The POST /api/messages body for this reply: to the thread's address, from the thread's line."""
        data = self.cleaned_data
        message_type = data["message_type"]
        payload: dict[str, Any] = {"message": data["message"], "messageType": message_type}
        if is_email(self.thread.address):
            payload["recipientEmail"] = self.thread.address
        else:
            payload["recipientPhone"] = self.thread.address
        if self.thread.lead_id:
            payload["leadId"] = self.thread.lead_id
        line = self.thread.line
        wanted_channel = {"imessage": Line.Channel.PHONE, "email": Line.Channel.EMAIL}.get(message_type)
        if line is not None and line.is_active and wanted_channel == line.channel_type:
            payload["fromLineId"] = line.pk  # same thread, same sender
        urls = [u.strip() for u in (data.get("attachment_urls") or "").splitlines() if u.strip()]
        if urls:
            payload["attachmentUrls"] = urls
        return payload
