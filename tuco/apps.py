from django.apps import AppConfig


class TucoConfig(AppConfig):
    name = "tuco"
    verbose_name = "Tuco platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A key, workspace or line changed in this process: the hot caches forget at once (tuco.hot_cache).
        from django.db.models.signals import post_delete, post_save

        from tuco import hot_cache

        for model in ("tuco.ApiKey", "tuco.Workspace", "lines.Line", "lines.Device"):
            post_save.connect(hot_cache.forget_all, sender=model, dispatch_uid=f"hot_cache.save.{model}")
            post_delete.connect(hot_cache.forget_all, sender=model, dispatch_uid=f"hot_cache.delete.{model}")
