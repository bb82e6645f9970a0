"""The site's URLs plus the attachments URLs (until tuco/urls.py includes them)."""

from django.urls import include, path

from tuco.urls import urlpatterns as site_urlpatterns

urlpatterns = [*site_urlpatterns, path("", include("messaging.attachments.urls"))]
