from django.apps import AppConfig


class QuotasConfig(AppConfig):
    name = "console.quotas"
    label = "quotas"
