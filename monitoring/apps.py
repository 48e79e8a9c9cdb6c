from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self) -> None:
        # Publishers (clusters/events.py) render each event's push once with our markup; clusters
        # cannot import monitoring, so the renderers are handed to it here.
        from clusters.events import (
            CLUSTER_AUDIENCE,
            ORGANIZATION_AUDIENCE,
            register_push_renderer,
        )
        from monitoring import live

        register_push_renderer(CLUSTER_AUDIENCE, live.render_cluster_event)
        register_push_renderer(ORGANIZATION_AUDIENCE, live.render_organization_event)
