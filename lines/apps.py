from django.apps import AppConfig


class LinesConfig(AppConfig):
    name = "lines"
    default_auto_field = "django.db.models.BigAutoField"
