from django.apps import AppConfig


class TucoConfig(AppConfig):
    name = "tuco"
    verbose_name = "Tuco platform"
    default_auto_field = "django.db.models.BigAutoField"
