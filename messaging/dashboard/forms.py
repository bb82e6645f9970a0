"""The dashboard's filters: workspace, line and date range, offering only what the operator may see."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from lines.models import Line
from messaging.reporting import Scope
from tuco.admin import member_workspace_ids, scope_queryset, scoped_workspaces

DEFAULT_DAYS = 14
MAX_DAYS = 92


def default_range(today: date | None = None) -> tuple[date, date]:
    last = today or timezone.now().date()
    return last - timedelta(days=DEFAULT_DAYS - 1), last


class ReportFilterForm(forms.Form):
    workspace = forms.ChoiceField(required=False, label="Workspace")
    line = forms.ChoiceField(required=False, label="Line")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["workspace"].choices = [("", "All my workspaces")] + [
            (w.pk, w.name) for w in scoped_workspaces(user).only("id", "name")[:200]]
        lines = scope_queryset(Line.objects.all(), user, "workspace").select_related("workspace")
        self.lines = {line.pk: line for line in lines.order_by("workspace__name", "phone", "email")[:500]}
        self.fields["line"].choices = [("", "All lines")] + [
            (line.pk, f"{line.display_name} · {line.workspace.name}" if line.display_name != str(line)
             else f"{line} · {line.workspace.name}") for line in self.lines.values()]
        first, last = default_range()
        self.fields["date_from"].widget.attrs["placeholder"] = first.isoformat()
        self.fields["date_to"].widget.attrs["placeholder"] = last.isoformat()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        default_first, default_last = default_range()
        last = data.get("date_to") or default_last
        first = data.get("date_from") or (last - timedelta(days=DEFAULT_DAYS - 1))
        if first > last:
            raise forms.ValidationError("The start date must be on or before the end date.")
        if (last - first).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        line = self.lines.get(data.get("line") or "")
        if line is not None and data.get("workspace") and line.workspace_id != data["workspace"]:
            self.add_error("line", "This line belongs to another workspace.")
        data["first"], data["last"] = first, last
        return data

    def scope_and_range(self) -> tuple[Scope, date, date]:
        """What to count: the chosen workspace (else every workspace the user may see), line and days.
        An invalid form counts the defaults (the errors are shown above the charts)."""
        if not self.is_valid():
            first, last = default_range()
            return Scope(workspace_ids=member_workspace_ids(self.user)), first, last
        data = self.cleaned_data
        workspace_ids = [data["workspace"]] if data.get("workspace") else member_workspace_ids(self.user)
        return Scope(workspace_ids=workspace_ids, line_id=data.get("line") or ""), data["first"], data["last"]
