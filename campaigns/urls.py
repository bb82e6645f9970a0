from __future__ import annotations

from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignsApi.as_view(), name="campaigns"),
    path("campaigns/<str:campaign_id>", api.CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<str:campaign_id>/launch", api.CampaignLaunchApi.as_view(), name="campaign-launch"),
    path("campaigns/<str:campaign_id>/pause", api.CampaignPauseApi.as_view(), name="campaign-pause"),
    path("campaigns/<str:campaign_id>/resume", api.CampaignResumeApi.as_view(), name="campaign-resume"),
    path("campaigns/<str:campaign_id>/stats", api.CampaignStatsApi.as_view(), name="campaign-stats"),
    path("campaigns/<str:campaign_id>/recipients", api.CampaignRecipientsApi.as_view(), name="campaign-recipients"),
    path("campaigns/<str:campaign_id>/leads", api.CampaignLeadsApi.as_view(), name="campaign-leads"),
]
