from django.apps import AppConfig


class HostApiConfig(AppConfig):
    """The host API: views and reconciling, no models (the keys are `console.hosts`')."""

    name = "console.hostapi"
    label = "hostapi"
