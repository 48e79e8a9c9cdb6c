"""The Celery app: tasks are found in each app's tasks.py; settings come from CELERY_* in Django."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "happa.settings")

app = Celery("happa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
