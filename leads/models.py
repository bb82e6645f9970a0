"""Leads (contacts), their lists, and the workspace's do-not-contact list."""

from __future__ import annotations

from django.db import models

from tuco.ids import new_id
from tuco.models import Workspace

QUICK_SENDS_LIST = "Quick Sends"

ALT_PHONE_FIELDS = ("alt_phone1", "alt_phone2", "alt_phone3")
# CRM links as the API spells them → the lead's (and the message's) columns.
CRM_FIELDS = {"ghlContactId": "ghl_contact_id", "ghlLocationId": "ghl_location_id", "hsPortalId": "hs_portal_id",
              "hsContactId": "hs_contact_id"}
ALT_EMAIL_FIELDS = ("alt_email1", "alt_email2", "alt_email3")


class LeadList(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="lead_lists")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="uniq_list_name")]

    def __str__(self) -> str:
        return self.name


def no_tags() -> list[str]:
    return []  # (inside Lead, `list` names the lead's list)


class Lead(models.Model):
    class Availability(models.TextChoices):
        UNKNOWN = "unknown"
        AVAILABLE = "available"
        UNAVAILABLE = "unavailable"
        ERROR = "error"

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="leads",
                                  db_index=False)  # leads lead_ws_phone, lead_ws_email, lead_ws_list_created
    list = models.ForeignKey(LeadList, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads")
    first_name = models.CharField(max_length=200, blank=True, default="")
    last_name = models.CharField(max_length=200, blank=True, default="")
    # Stored normalized: phones E.164, emails lowercased; "" when absent.
    phone = models.CharField(max_length=32, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    alt_phone1 = models.CharField(max_length=32, blank=True, default="")
    alt_phone2 = models.CharField(max_length=32, blank=True, default="")
    alt_phone3 = models.CharField(max_length=32, blank=True, default="")
    alt_email1 = models.CharField(max_length=254, blank=True, default="")
    alt_email2 = models.CharField(max_length=254, blank=True, default="")
    alt_email3 = models.CharField(max_length=254, blank=True, default="")
    company_name = models.CharField(max_length=200, blank=True, default="")
    job_title = models.CharField(max_length=200, blank=True, default="")
    # CRM links (spec: the send response's ghlContactId, ghlLocationId, hsPortalId, hsContactId).
    ghl_contact_id = models.CharField(max_length=100, blank=True, default="")
    ghl_location_id = models.CharField(max_length=100, blank=True, default="")
    hs_portal_id = models.CharField(max_length=100, blank=True, default="")
    hs_contact_id = models.CharField(max_length=100, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)
    # Labels for segmenting (campaign stop conditions: "has / has not a tag"); lowercase, unique, sorted.
    tags = models.JSONField(default=no_tags, blank=True)
    source = models.CharField(max_length=50, blank=True, default="api")
    availability_status = models.CharField(max_length=16, choices=Availability.choices,
                                           default=Availability.UNKNOWN)
    availability_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # "Dedup within the list by phone/email" is a database rule, not a check-then-insert.
            models.UniqueConstraint(fields=["list", "phone"], condition=~models.Q(phone=""),
                                    name="uniq_lead_list_phone"),
            models.UniqueConstraint(fields=["list", "email"], condition=~models.Q(email=""),
                                    name="uniq_lead_list_email"),
        ]
        indexes = [
            models.Index(fields=["workspace", "phone"], name="lead_ws_phone"),
            models.Index(fields=["workspace", "email"], name="lead_ws_email"),
            models.Index(fields=["workspace", "list", "-created_at"], name="lead_ws_list_created"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.phone or self.email or self.id

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def phones(self) -> list[str]:
        return [p for p in (self.phone, self.alt_phone1, self.alt_phone2, self.alt_phone3) if p]

    def emails(self) -> list[str]:
        return [e for e in (self.email, self.alt_email1, self.alt_email2, self.alt_email3) if e]


class DncEntry(models.Model):
    """An address the workspace must never message again (opt-out or manual)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="dnc_entries")
    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=100, blank=True, default="manual")
    source_message_id = models.CharField(max_length=24, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "address"], name="uniq_dnc_address")]

    def __str__(self) -> str:
        return self.address
