from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Imported for their side effects: the system checks and the OpenAPI extensions.
        from apps.core import checks, schema  # noqa: F401
