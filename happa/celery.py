"""The Celery app: tasks are found in each app's tasks.py; settings come from CELERY_* in Django."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happa.settings")

app = Celery("happa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def schedule_engine(sender: Celery, **kwargs: object) -> None:
    """The engine's periodic work (clusters/tasks.py): re-run clusters a lost run left stuck."""
    sender.add_periodic_task(
        60.0, sender.signature("clusters.tasks.reconcile_stuck_clusters"),
        name="reconcile stuck clusters",
    )
