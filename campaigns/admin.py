"""Operator admin for campaigns: the list with its headline numbers, and a campaign page with the per-step
stats, the recipients (badge, step, next step time, why each waits) and Launch / Pause / Resume.

Nothing here computes a number of its own on the campaign page: it shows `campaign_stats`,
`campaign_recipients`, `recipient_badge_counts` and `campaign_lines` (the API's GET …/stats and
…/recipients read the same functions). The buttons and actions call the API's services
(`campaign_launch`, `campaign_pause`, `campaign_resume`); a refusal (409, wrong status) is an admin
message. A campaign is never saved from a form: its steps and variables are checked by the API's input
parsing, and its status belongs to the services.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from campaigns.models import Campaign, Enrollment, Step
from campaigns.selectors import campaign_lines, campaign_recipients, campaign_stats, recipient_badge_counts
from campaigns.services import campaign_launch, campaign_pause, campaign_resume
from messaging.models import Direction, Message
from tuco.admin import WorkspaceListFilter, WorkspaceScopedAdmin
from tuco.errors import ApiError

RECIPIENTS_PER_PAGE = 50

STATUS_TONES = {Campaign.Status.DRAFT: "muted", Campaign.Status.ACTIVE: "ok", Campaign.Status.PAUSED: "warn",
                Campaign.Status.COMPLETED: "info", Campaign.Status.ARCHIVED: "muted"}
BADGE_TONES = {"Pending": "info", "Sent": "ok", "Delivered": "ok", "Failed": "bad", "Fallback": "warn",
               "Replied": "ok", "Stopped": "muted"}

# verb -> (service, past tense, the status it needs): one table for the buttons and the changelist actions.
TRANSITIONS: dict[str, tuple[Callable[..., Campaign], str, str]] = {
    "launch": (campaign_launch, "launched", Campaign.Status.DRAFT),
    "pause": (campaign_pause, "paused", Campaign.Status.ACTIVE),
    "resume": (campaign_resume, "resumed", Campaign.Status.PAUSED),
}


def campaign_status_badge(status: str) -> SafeString:
    return format_html('<span class="tuco-badge tuco-badge-{}" data-campaign-status="{}">{}</span>',
                       STATUS_TONES.get(status, "muted"), status, status)


def recipient_badge_html(badge: str) -> SafeString:
    return format_html('<span class="tuco-badge tuco-badge-{}" data-badge="{}">{}</span>',
                       BADGE_TONES.get(badge, "muted"), badge, badge)


def _count(rows: QuerySet[Any], key: str) -> Coalesce:
    """COUNT(*) of `rows` per outer campaign as a correlated subquery (one per column keeps joins from
    multiplying each other's counts)."""
    counted = rows.order_by().values(key).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def wait_text(seconds: int) -> str:
    """A step's wait as an operator reads it: "2 d", "1 h 30 min", "45 s"."""
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@admin.register(Campaign)
class CampaignAdmin(WorkspaceScopedAdmin):
    list_display = ("name", "status_display", "lines_display", "step_count", "enrolled", "sent", "replied",
                    "reply_rate", "created_at", "workspace")
    list_filter = ("status", WorkspaceListFilter)
    list_select_related = ("workspace",)
    search_fields = ("name", "=id")
    ordering = ("-id",)  # ids are time-ordered: newest first
    list_per_page = 50
    actions = ("launch_campaigns", "pause_campaigns", "resume_campaigns")
    fieldsets = (
        (None, {"fields": ("id", "name", "workspace", "status_display", "hold_display", "audience",
                           "lines_display", "reply_behavior", "fallback_display")}),
        ("Schedule", {"fields": ("timezone", "send_window_start", "send_window_end", "allowed_days_of_week")}),
        ("Record", {"fields": ("launched_at", "completed_at", "created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The list's numbers, defined as campaign_stats defines them: enrolled = enrollments, replied = leads
        # who replied, reached = leads a step was sent to (the reply rate's denominator), sent = outbound
        # messages with a send time. `exclude(campaign_id="")` lets the planner use the partial index.
        enrollments = Enrollment.objects.filter(campaign=OuterRef("pk"))
        sent = Message.objects.filter(campaign_id=OuterRef("pk"), direction=Direction.OUTBOUND,
                                      sent_at__isnull=False).exclude(campaign_id="")
        return (super().get_queryset(request).prefetch_related("lines")
                .annotate(_steps=_count(Step.objects.filter(campaign=OuterRef("pk")), "campaign"),
                          _enrolled=_count(enrollments, "campaign"),
                          _replied=_count(enrollments.filter(replied_at__isnull=False), "campaign"),
                          _reached=_count(enrollments.filter(last_sent_at__isnull=False), "campaign"),
                          _sent=_count(sent, "campaign_id")))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created by POST /api/campaigns, where the steps and their variables are checked

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # DELETE /api/campaigns/{id} archives one with messages; a cascade here would not

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Never: every column is read-only here, and a save would write a stale `status` back."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing to save."""

    # --- columns ---------------------------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Campaign) -> str:
        return campaign_status_badge(obj.status)

    @admin.display(description="lines")
    def lines_display(self, obj: Campaign) -> str:
        lines = list(obj.lines.all())
        if not lines:
            return format_html('<span class="quiet">{}</span>', "every active line")
        return format_html_join(", ", "{}", ((line.display_name,) for line in lines))

    @admin.display(description="steps", ordering="_steps")
    def step_count(self, obj: Campaign) -> int:
        return getattr(obj, "_steps", 0)

    @admin.display(description="enrolled", ordering="_enrolled")
    def enrolled(self, obj: Campaign) -> int:
        return getattr(obj, "_enrolled", 0)

    @admin.display(description="sent", ordering="_sent")
    def sent(self, obj: Campaign) -> int:
        return getattr(obj, "_sent", 0)

    @admin.display(description="replied", ordering="_replied")
    def replied(self, obj: Campaign) -> int:
        return getattr(obj, "_replied", 0)

    @admin.display(description="reply rate")
    def reply_rate(self, obj: Campaign) -> str:
        reached = getattr(obj, "_reached", 0)
        if not reached:
            return "—"
        return f"{round(getattr(obj, '_replied', 0) / reached, 4):.1%}"  # rounded as the API's replyRate

    @admin.display(description="holds")
    def hold_display(self, obj: Campaign) -> str:
        state = campaign_lines(obj)
        if not state["holds"]:
            return "no"
        return format_html('<span class="tuco-badge tuco-badge-warn">holds</span> {}', state["holdReason"])

    @admin.display(description="fallback SMS on failed")
    def fallback_display(self, obj: Campaign) -> str:
        if obj.send_fallback_sms_on_failed is None:
            return "not set: the workspace's fallback config decides"
        return "yes" if obj.send_fallback_sms_on_failed else "no"

    @admin.display(description="audience")
    def audience(self, obj: Campaign) -> str:
        if obj.lead_list_id is None:
            return "API only (leads are added by POST /api/campaigns/{id}/leads)"
        return format_html('<a href="{}">{}</a>', reverse("admin:leads_leadlist_change", args=[obj.lead_list_id]),
                           obj.lead_list)

    # --- the campaign page -----------------------------------------------------------------------------

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        campaign = self.get_object(request, object_id)
        extra: dict[str, Any] = {"show_save": False, "show_save_and_continue": False,
                                 "show_save_and_add_another": False, "show_delete": False}
        if campaign is not None:
            extra.update(self._page_context(request, campaign))
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def _page_context(self, request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
        params = QueryDict(mutable=True)
        params["limit"] = str(RECIPIENTS_PER_PAGE)
        cursor = request.GET.get("recipients_cursor", "")
        if cursor:
            params["cursor"] = cursor
        try:
            recipients, next_cursor = campaign_recipients(campaign, params=params)
        except ApiError:  # a hand-edited cursor: show the first page
            recipients, next_cursor = campaign_recipients(campaign, params=QueryDict(f"limit={RECIPIENTS_PER_PAGE}"))
            cursor = ""
        for row in recipients:
            row["badge_html"] = recipient_badge_html(row["badge"])
            row["next_step_at"] = _when(row["nextStepAt"])
        stats = campaign_stats(campaign)
        bodies = {step.index: step for step in campaign.steps.all()}
        for row in stats["steps"]:
            step = bodies.get(row["index"])
            row["body"] = step.body if step is not None else ""
            row["wait"] = wait_text(step.wait_seconds) if step is not None and step.wait_seconds else ""
        can_change = self.has_change_permission(request, campaign)
        return {
            "stats": stats,
            "reply_rate": f"{stats['replyRate']:.1%}",
            "badge_counts": [(label, n, recipient_badge_html(label)) for label, n in
                             recipient_badge_counts(campaign).items()],
            "line_state": campaign_lines(campaign),
            "recipients": recipients,
            "recipients_cursor": cursor,
            "recipients_next": next_cursor,
            "buttons": [(verb, verb.capitalize()) for verb, (_, _, needs) in TRANSITIONS.items()
                        if can_change and campaign.status == needs],
        }

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [path(f"<str:object_id>/{verb}/", wrap(self._transition_view), {"verb": verb},
                     name=f"campaigns_campaign_{verb}") for verb in TRANSITIONS] + super().get_urls()

    def _transition_view(self, request: HttpRequest, object_id: str, verb: str) -> HttpResponse:
        """POST from the campaign page's button: the API's service, its refusal shown as a message."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        campaign = self.get_object(request, object_id)  # the workspace-scoped queryset: others' are 404
        if campaign is None:
            raise Http404("No such campaign")
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        service, past, _ = TRANSITIONS[verb]
        try:
            service(workspace=campaign.workspace, campaign_id=campaign.pk)
        except ApiError as exc:
            self.message_user(request, f"Campaign “{campaign.name}” was not {past}: {exc.error}", messages.ERROR)
        else:
            self.message_user(request, f"Campaign “{campaign.name}” {past}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    # --- changelist actions ----------------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet[Campaign], verb: str) -> None:
        service, past, needs = TRANSITIONS[verb]
        changed = refused = 0
        for campaign in queryset.select_related("workspace"):
            try:
                service(workspace=campaign.workspace, campaign_id=campaign.pk)
            except ApiError:
                refused += 1
            else:
                changed += 1
        self.message_user(request, f"{_plural(changed, 'campaign')} {past}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{_plural(refused, 'campaign')} left as is: only a {needs} campaign "
                                       f"can be {past}.", messages.WARNING)

    @admin.action(description="Launch selected draft campaigns", permissions=["change"])
    def launch_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, "launch")

    @admin.action(description="Pause selected active campaigns", permissions=["change"])
    def pause_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, "pause")

    @admin.action(description="Resume selected paused campaigns", permissions=["change"])
    def resume_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._each(request, queryset, "resume")
