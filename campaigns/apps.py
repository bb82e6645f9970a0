from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The send path tells campaigns what happened to their messages without knowing them.
        from campaigns import receivers  # noqa: F401
