from django.apps import AppConfig


class HappaConfig(AppConfig):
    name = "happa"
    verbose_name = "Happa"
