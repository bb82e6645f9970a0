from django.apps import AppConfig


class FallbackConfig(AppConfig):
    name = "fallback"
    default_auto_field = "django.db.models.BigAutoField"
